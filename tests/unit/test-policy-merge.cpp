// Several policy files: merge order, what later files may add, and the
// conflicts that are errors instead of silent overrides.

#include "policy-test-support.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

namespace wcbroker::test {
namespace {

namespace fs = std::filesystem;

const std::string main_policy = R"(version = 1
[selector.nic]
vendor = 0x8086

[[rule]]
name = "base"
devices = ["nic"]
bar = 2
ranges = [ { offset = 0, length = "4KiB" } ]
access = "write-combine"
users = [1000]
)";

std::string dropin_rule(const std::string& name, const std::string& selector = "nic",
    const std::string& access = "write-combine", const std::string& ranges = "\"all\"")
{
    return "version = 1\n[[rule]]\nname = \"" + name + "\"\ndevices = [\"" + selector + "\"]\nbar = 2\nranges = "
        + ranges + "\naccess = \"" + access + "\"\nusers = [1001]\n";
}

TEST(PolicyMerge, LaterFilesAddRulesAndUseEarlierSelectors)
{
    const LoadResult result = load_texts({{"policy.toml", main_policy}, {"10-more.toml", dropin_rule("more")}});
    ASSERT_NE(result.policy, nullptr) << ::testing::PrintToString(rendered(result));
    ASSERT_EQ(result.policy->rules.size(), 2u);
    EXPECT_EQ(result.policy->rules[0].name, "base");
    EXPECT_EQ(result.policy->rules[1].name, "more");
    EXPECT_EQ(result.policy->rules[1].order, 1u);
    EXPECT_EQ(result.policy->files, (std::vector<std::string>{"policy.toml", "10-more.toml"}));
}

TEST(PolicyMerge, EarlierFilesMayUseSelectorsDefinedLater)
{
    const LoadResult result = load_texts({{"policy.toml", dropin_rule("uses-later", "late")},
        {"20-sel.toml", "version = 1\n[selector.late]\nvendor = 0x15b3\n"}});
    EXPECT_NE(result.policy, nullptr) << ::testing::PrintToString(rendered(result));
}

TEST(PolicyMerge, RedefiningASelectorIsAnError)
{
    const LoadResult result =
        load_texts({{"policy.toml", main_policy}, {"10-x.toml", "version = 1\n[selector.nic]\nvendor = 0x15b3\n"}});
    EXPECT_EQ(result.policy, nullptr);
    EXPECT_EQ(rendered(result), std::vector<std::string>{
        "10-x.toml:2:11: error: selector.nic: selector 'nic' is already defined at policy.toml:2:11; files can add "
        "selectors but not redefine them, so pick another name"});
}

TEST(PolicyMerge, RedefiningARuleIsAnError)
{
    const LoadResult result = load_texts({{"policy.toml", main_policy}, {"10-x.toml", dropin_rule("base")}});
    EXPECT_EQ(result.policy, nullptr);
    EXPECT_EQ(rendered(result), std::vector<std::string>{
        "10-x.toml:2:1: error: rule[base].name: rule 'base' is already defined at policy.toml:5:1; files can add rules "
        "but not redefine them, so pick another name"});
}

TEST(PolicyMerge, ModeInADropInIsAnErrorEvenWhenItAgreesWithTheMainFile)
{
    const LoadResult conflict =
        load_texts({{"policy.toml", "version = 1\nmode = \"enforce\"\n"}, {"10-x.toml", "version = 1\nmode = \"audit\"\n"}});
    EXPECT_EQ(conflict.policy, nullptr);
    EXPECT_EQ(rendered(conflict), std::vector<std::string>{
        "10-x.toml:2:8: error: mode: mode may be set only in the main policy file policy.toml, not in a drop-in: a "
        "drop-in adds rules but cannot turn enforcement off"});

    const LoadResult same =
        load_texts({{"policy.toml", "version = 1\nmode = \"audit\"\n"}, {"10-x.toml", "version = 1\nmode = \"audit\"\n"}});
    EXPECT_EQ(same.policy, nullptr);
}

TEST(PolicyMerge, ADropInCannotTurnAuditModeOn)
{
    const LoadResult result = load_texts({{"policy.toml", main_policy}, {"10-x.toml", "version = 1\nmode = \"audit\"\n"}});
    EXPECT_EQ(result.policy, nullptr);
    EXPECT_EQ(rendered(result), std::vector<std::string>{
        "10-x.toml:2:8: error: mode: mode may be set only in the main policy file policy.toml, not in a drop-in: a "
        "drop-in adds rules but cannot turn enforcement off"});
}

TEST(PolicyMerge, ModeFromTheMainFileApplies)
{
    const LoadResult result = load_texts({{"policy.toml", std::string(main_policy).insert(12, "mode = \"audit\"\n")}, {"10-x.toml", dropin_rule("x")}});
    ASSERT_NE(result.policy, nullptr);
    EXPECT_EQ(result.policy->mode, EnforcementMode::Audit);
}

TEST(PolicyMerge, WithoutAMainFileNoDropInMaySetTheMode)
{
    const LoadResult result = load_policy_from_texts({{"/run/wcbroker/policy.d/10-x.toml", "version = 1\nmode = \"audit\"\n"}},
        "/etc/wcbroker/policy.toml", fake_options());
    EXPECT_EQ(result.policy, nullptr);
    EXPECT_EQ(rendered(result), std::vector<std::string>{
        "/run/wcbroker/policy.d/10-x.toml:2:8: error: mode: mode may be set only in the main policy file "
        "/etc/wcbroker/policy.toml, not in a drop-in: a drop-in adds rules but cannot turn enforcement off"});
}

TEST(PolicyMerge, WriteCombineAndUncachedOnTheSamePagesAcrossFilesIsAnError)
{
    const LoadResult result = load_texts({{"policy.toml", main_policy},
        {"10-uc.toml", dropin_rule("uc", "nic", "uncached", "[ { offset = 0, length = \"8KiB\" } ]")}});
    EXPECT_EQ(result.policy, nullptr);
    EXPECT_EQ(rendered(result), std::vector<std::string>{
        "10-uc.toml:2:1: error: rule[uc].access: rule 'uc' grants uncached on BAR 2 where rule 'base' "
        "(policy.toml:5:1) grants write-combine for the same devices (selector 'nic'); one page cannot be both, so "
        "make their ranges disjoint"});
}

TEST(PolicyMerge, WriteCombineAndUncachedOnDisjointPagesIsTheMlx5Layout)
{
    const LoadResult result = load_texts({{"policy.toml", main_policy},
        {"10-uc.toml", dropin_rule("uc", "nic", "uncached", "[ { offset = \"4KiB\", length = \"8KiB\" } ]")}});
    EXPECT_NE(result.policy, nullptr) << ::testing::PrintToString(rendered(result));
}

TEST(PolicyMerge, OneErrorInADropInRejectsTheWholePolicy)
{
    const LoadResult result = load_texts({{"policy.toml", main_policy}, {"10-bad.toml", "version = 1\nmode = 3\n"}});
    EXPECT_EQ(result.policy, nullptr);
    EXPECT_EQ(result.diagnostics.error_count(), 1u);
}

// On-disk layout: policy.toml first, then drop-ins of all directories by name.
class PolicyDirectories : public ::testing::Test {
protected:
    void SetUp() override
    {
        char pattern[] = "/tmp/wcbroker-policy-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        root_ = pattern;
        fs::create_directories(root_ / "etc" / "policy.d");
        fs::create_directories(root_ / "run" / "policy.d");
    }
    void TearDown() override { fs::remove_all(root_); }

    void write(const fs::path& relative, const std::string& text, mode_t mode = 0644)
    {
        std::ofstream(root_ / relative) << text;
        ::chmod((root_ / relative).c_str(), mode);
    }
    PolicySources sources() const
    {
        return {(root_ / "etc" / "policy.toml").string(),
            {(root_ / "etc" / "policy.d").string(), (root_ / "run" / "policy.d").string()}};
    }

    fs::path root_;
};

TEST_F(PolicyDirectories, DropInsFromEtcAndRunMergeSortedByFileName)
{
    write("etc/policy.toml", main_policy);
    write("etc/policy.d/30-c.toml", dropin_rule("c"));
    write("run/policy.d/20-b.toml", dropin_rule("b"));
    write("etc/policy.d/10-a.toml", dropin_rule("a"));
    write("etc/policy.d/README", "not a policy");
    write("etc/policy.d/.hidden.toml", "garbage");
    const LoadResult result = load_policy(sources(), fake_options());
    ASSERT_NE(result.policy, nullptr) << ::testing::PrintToString(rendered(result));
    std::vector<std::string> names;
    for (const Rule& rule : result.policy->rules)
        names.push_back(rule.name);
    EXPECT_EQ(names, (std::vector<std::string>{"base", "a", "b", "c"}));
    ASSERT_EQ(result.files.size(), 4u);
    EXPECT_EQ(result.files[2], (root_ / "run/policy.d/20-b.toml").string());
}

TEST_F(PolicyDirectories, NoFilesAtAllIsAnEmptyPolicy)
{
    fs::remove_all(root_ / "etc");
    const LoadResult result = load_policy(sources(), fake_options());
    ASSERT_NE(result.policy, nullptr);
    EXPECT_TRUE(result.policy->rules.empty());
    EXPECT_TRUE(result.files.empty());
}

TEST_F(PolicyDirectories, AWorldWritableDropInDirectoryIsRefused)
{
    write("etc/policy.toml", main_policy);
    write("run/policy.d/10-a.toml", dropin_rule("a"));
    ::chmod((root_ / "run" / "policy.d").c_str(), 0777);
    const LoadResult result = load_policy(sources(), fake_options());
    EXPECT_EQ(result.policy, nullptr);
    EXPECT_EQ(rendered(result), std::vector<std::string>{
        (root_ / "run/policy.d/10-a.toml").string() + ": error: the directory " + (root_ / "run/policy.d").string()
        + " holding it is writable by group or others (mode 0777), who could replace the policy file; run chmod "
          "go-w on it"});
}

TEST_F(PolicyDirectories, AGroupWritableAncestorIsRefused)
{
    write("etc/policy.toml", main_policy);
    ::chmod(root_.c_str(), 0770);
    const LoadResult result = load_policy(sources(), fake_options());
    EXPECT_EQ(result.policy, nullptr);
    EXPECT_EQ(rendered(result), std::vector<std::string>{
        (root_ / "etc/policy.toml").string() + ": error: the directory " + root_.string()
        + " above it is writable by group or others (mode 0770), who could replace the policy file; run chmod go-w "
          "on it"});
}

TEST_F(PolicyDirectories, AnAncestorOwnedBySomeoneElseIsRefused)
{
    if (::geteuid() != 0)
        GTEST_SKIP() << "needs root to give a directory away";
    write("etc/policy.toml", main_policy);
    ASSERT_EQ(::chown((root_ / "etc").c_str(), 1000, 1000), 0);
    const LoadResult result = load_policy(sources(), fake_options());
    EXPECT_EQ(result.policy, nullptr);
    EXPECT_EQ(rendered(result), std::vector<std::string>{
        (root_ / "etc/policy.toml").string() + ": error: the directory " + (root_ / "etc").string()
        + " holding it is owned by uid 1000, who could replace the policy file; chown root"});
}

TEST_F(PolicyDirectories, AStickyWorldWritableAncestorLikeTmpIsFine)
{
    write("etc/policy.toml", main_policy);
    ::chmod(root_.c_str(), 01777);
    const LoadResult result = load_policy(sources(), fake_options());
    EXPECT_NE(result.policy, nullptr) << ::testing::PrintToString(rendered(result));
}

TEST_F(PolicyDirectories, ASymlinkedPolicyFileIsRefused)
{
    write("etc/policy.toml", main_policy);
    write("run/real.toml", dropin_rule("a"));
    fs::create_symlink(root_ / "run" / "real.toml", root_ / "run" / "policy.d" / "10-a.toml");
    const LoadResult result = load_policy(sources(), fake_options());
    EXPECT_EQ(result.policy, nullptr);
    EXPECT_EQ(rendered(result), std::vector<std::string>{
        (root_ / "run/policy.d/10-a.toml").string()
        + ": error: is a symbolic link; policy files are read only as plain files, so copy the file here instead"});
}

TEST_F(PolicyDirectories, SameDropInNameInTwoDirectoriesIsAnError)
{
    write("etc/policy.toml", main_policy);
    write("etc/policy.d/10-a.toml", dropin_rule("a"));
    write("run/policy.d/10-a.toml", dropin_rule("a2"));
    const LoadResult result = load_policy(sources(), fake_options());
    EXPECT_EQ(result.policy, nullptr);
    ASSERT_EQ(result.diagnostics.error_count(), 1u) << ::testing::PrintToString(rendered(result));
    EXPECT_EQ(rendered(result)[0], (root_ / "run/policy.d/10-a.toml").string()
            + ": error: a drop-in named 10-a.toml also exists as " + (root_ / "etc/policy.d/10-a.toml").string()
            + "; drop-ins add to each other and never replace one another, so rename one");
}

TEST_F(PolicyDirectories, WorldWritableFileIsRefused)
{
    write("etc/policy.toml", main_policy, 0666);
    const LoadResult result = load_policy(sources(), fake_options());
    EXPECT_EQ(result.policy, nullptr);
    EXPECT_EQ(rendered(result), std::vector<std::string>{(root_ / "etc/policy.toml").string()
            + ": error: writable by group or others (mode 0666), who could grant themselves device memory through "
              "it; run chmod go-w on it"});
}

TEST_F(PolicyDirectories, SymlinkLoopIsRefusedLikeAnyLink)
{
    fs::create_symlink(root_ / "etc/policy.d/loop.toml", root_ / "etc/policy.d/loop.toml");
    const LoadResult result = load_policy(sources(), fake_options());
    EXPECT_EQ(result.policy, nullptr);
    EXPECT_EQ(rendered(result), std::vector<std::string>{(root_ / "etc/policy.d/loop.toml").string()
            + ": error: is a symbolic link; policy files are read only as plain files, so copy the file here instead"});
}

TEST_F(PolicyDirectories, DirectoryInPlaceOfAFileIsRefused)
{
    fs::create_directories(root_ / "etc/policy.toml");
    const LoadResult result = load_policy(sources(), fake_options());
    EXPECT_EQ(result.policy, nullptr);
    EXPECT_EQ(rendered(result), std::vector<std::string>{(root_ / "etc/policy.toml").string()
            + ": error: not a regular file; a policy file must be a plain .toml file"});
}

TEST_F(PolicyDirectories, ErrorsAreListedInFileOrder)
{
    write("etc/policy.toml", "version = 1\nmode = 2\n");
    write("etc/policy.d/10-a.toml", "version = 1\nmode = 3\n");
    write("etc/policy.d/05-b.toml", "version = 1\nmode = 4\n");
    const LoadResult result = load_policy(sources(), fake_options());
    const std::vector<std::string> lines = rendered(result);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_NE(lines[0].find("etc/policy.toml:2:8"), std::string::npos);
    EXPECT_NE(lines[1].find("05-b.toml:2:8"), std::string::npos);
    EXPECT_NE(lines[2].find("10-a.toml:2:8"), std::string::npos);
}

TEST_F(PolicyDirectories, ExplicitFileListIsReadInTheGivenOrder)
{
    write("one.toml", dropin_rule("one", "nic"));
    write("two.toml", "version = 1\n[selector.nic]\nvendor = 1\n");
    const LoadResult result =
        load_policy_files({(root_ / "two.toml").string(), (root_ / "one.toml").string()}, fake_options());
    ASSERT_NE(result.policy, nullptr) << ::testing::PrintToString(rendered(result));
    EXPECT_EQ(result.policy->files[0], (root_ / "two.toml").string());
}

} // namespace
} // namespace wcbroker::test
