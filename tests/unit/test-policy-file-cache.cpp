// Reloads re-parse only changed files, and still see everything else anew.

#include "policy-test-support.hpp"

#include <gtest/gtest.h>
#include <set>

namespace wcbroker::test {
namespace {

const std::string main_text = "version = 1\n[selector.nic]\nvendor = 0x8086\ndriver = \"uio_pci_generic\"\n";

std::string rule_for(const std::string& user)
{
    return "version = 1\n[[rule]]\nname = \"r\"\ndevices = [\"nic\"]\nbar = 2\nranges = \"all\"\n"
           "access = \"write-combine\"\nusers = [\"" + user + "\"]\n";
}

// Users can be added while the daemon runs.
class GrowingNames final : public NameResolver {
public:
    std::optional<uid_t> user_id(const std::string& name) const override
    {
        return users.count(name) != 0 ? std::optional<uid_t>(1000) : std::nullopt;
    }
    std::optional<gid_t> group_id(const std::string&) const override { return std::nullopt; }
    std::set<std::string> users;
};

TEST(PolicyFileCache, UnchangedFilesAreNotParsedAgain)
{
    PolicyFileCache cache;
    const std::vector<std::pair<std::string, std::string>> files{{"policy.toml", main_text}, {"10.toml", rule_for("alice")}};
    const LoadResult first = load_policy_from_texts(files, fake_options(), &cache);
    ASSERT_NE(first.policy, nullptr);
    EXPECT_EQ(cache.hits(), 0u);
    EXPECT_EQ(cache.size(), 2u);

    const LoadResult second = load_policy_from_texts(files, fake_options(), &cache);
    ASSERT_NE(second.policy, nullptr);
    EXPECT_EQ(cache.hits(), 2u);
    EXPECT_NE(second.policy, first.policy) << "every load builds a new policy";
    EXPECT_EQ(rendered(second), rendered(first)) << "warnings of cached files are reported again";
    EXPECT_EQ(second.diagnostics.warning_count(), 1u);
}

TEST(PolicyFileCache, ChangedFileIsParsedAgainAndOthersAreNot)
{
    PolicyFileCache cache;
    load_policy_from_texts({{"policy.toml", main_text}, {"10.toml", rule_for("alice")}}, fake_options(), &cache);
    const LoadResult changed =
        load_policy_from_texts({{"policy.toml", main_text}, {"10.toml", rule_for("bob")}}, fake_options(), &cache);
    ASSERT_NE(changed.policy, nullptr);
    EXPECT_EQ(cache.hits(), 1u);
    EXPECT_EQ(changed.policy->rules[0].users[0].uid, 1001u);
}

TEST(PolicyFileCache, NamesResolveAgainOnEveryLoad)
{
    GrowingNames names;
    LoadOptions options;
    options.names = &names;
    options.unknown_names_are_errors = false;
    PolicyFileCache cache;
    const std::vector<std::pair<std::string, std::string>> files{{"policy.toml", main_text}, {"10.toml", rule_for("carol")}};

    const LoadResult before = load_policy_from_texts(files, options, &cache);
    ASSERT_NE(before.policy, nullptr);
    EXPECT_FALSE(before.policy->rules[0].users[0].uid.has_value());

    names.users.insert("carol"); // useradd carol, then wcbrokerctl reload
    const LoadResult after = load_policy_from_texts(files, options, &cache);
    ASSERT_NE(after.policy, nullptr);
    EXPECT_EQ(cache.hits(), 2u);
    EXPECT_EQ(after.policy->rules[0].users[0].uid, 1000u);
}

TEST(PolicyFileCache, FilesNoLongerLoadedAreForgotten)
{
    PolicyFileCache cache;
    load_policy_from_texts({{"policy.toml", main_text}, {"10.toml", rule_for("alice")}}, fake_options(), &cache);
    load_policy_from_texts({{"policy.toml", main_text}}, fake_options(), &cache);
    EXPECT_EQ(cache.size(), 1u);
}

TEST(PolicyFileCache, BrokenFilesAreCachedWithTheirErrors)
{
    PolicyFileCache cache;
    const std::vector<std::pair<std::string, std::string>> files{{"policy.toml", "version = 1\nmode = 3\n"}};
    const LoadResult first = load_policy_from_texts(files, fake_options(), &cache);
    const LoadResult second = load_policy_from_texts(files, fake_options(), &cache);
    EXPECT_EQ(first.policy, nullptr);
    EXPECT_EQ(second.policy, nullptr);
    EXPECT_EQ(rendered(second), rendered(first));
    EXPECT_EQ(cache.hits(), 1u);
}

TEST(PolicyFileCache, DifferentPageSizeIsADifferentParse)
{
    PolicyFileCache cache;
    const std::vector<std::pair<std::string, std::string>> files{{"policy.toml", main_text}};
    load_policy_from_texts(files, fake_options(), &cache);
    LoadOptions big_pages = fake_options();
    big_pages.page_size = 65536;
    load_policy_from_texts(files, big_pages, &cache);
    EXPECT_EQ(cache.hits(), 0u);
}

} // namespace
} // namespace wcbroker::test
