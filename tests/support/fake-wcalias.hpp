// A fake /dev/wcalias: the module's ioctls answered from a script, each call
// recorded. An alias is a memfd of the alias's length (so a client can map
// it), known by its inode to WCALIAS_IOC_QUERY. Free of gtest.
#pragma once

#include "wcalias-control.hpp"

#include <cerrno>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace wcbroker::test {

struct FakeWcaliasState {
    // WCALIAS_IOC_VERSION
    int version_error = 0;
    std::uint32_t api_version = WCALIAS_API_VERSION;
    std::uint32_t flags = WCALIAS_VERSION_PAT | WCALIAS_VERSION_VERIFIES;
    // WCALIAS_IOC_CLAIM / UNCLAIM: an error and reason for every call, or none
    int claim_error = 0;
    std::uint32_t claim_why = WCALIAS_WHY_NONE;
    int unclaim_error = 0;
    std::set<std::string> claimed; // "0000:00:03.0/2", as claimed now
    std::vector<std::string> calls; // "claim 0000:00:03.0/2", "unclaim ...", "create ...", "revoke 7", "revoke-all"
    // WCALIAS_IOC_CREATE
    int create_error = 0;
    std::uint32_t create_why = WCALIAS_WHY_NONE;
    std::optional<std::uint32_t> effective; // as asked when unset
    std::uint64_t next_id = 100;
    std::set<std::uint64_t> live;
    std::map<std::uint64_t, wcalias_create> created; // id -> the request, as QUERY answers it
    std::map<std::uint64_t, std::uint32_t> revoked_because; // id -> WCALIAS_REVOKED_*
    // WCALIAS_IOC_QUERY: the aliases this context made, by their memfd's inode
    std::map<std::uint64_t, std::uint64_t> id_of_inode;
    std::set<std::uint64_t> not_own; // ids this context did not make (another context's)

    static std::string bar_name(const wcalias_bar& bar)
    {
        char text[32];
        std::snprintf(text, sizeof text, "%04x:%02x:%02x.%x/%u", bar.domain, bar.bus, bar.devfn >> 3, bar.devfn & 7,
            static_cast<unsigned>(bar.bar));
        return text;
    }
    // What the kernel does on unbind or removal: revokes the aliases, drops the claims.
    void kernel_revokes(std::uint64_t id, std::uint32_t why)
    {
        live.erase(id);
        revoked_because[id] = why;
    }
};

class FakeWcaliasDevice final : public WcaliasDevice {
public:
    explicit FakeWcaliasDevice(std::shared_ptr<FakeWcaliasState> state)
        : state_(std::move(state))
    {
    }

    int fd() const override { return -1; }
    int version(wcalias_version& version) override
    {
        version.api_version = state_->api_version;
        version.flags = state_->flags;
        version.max_aliases_per_context = 4096;
        version.max_aliases_per_device = 1024;
        return state_->version_error;
    }
    int claim(wcalias_claim& claim) override
    {
        const std::string name = FakeWcaliasState::bar_name(claim.bar);
        state_->calls.push_back("claim " + name);
        if (state_->claim_error != 0) {
            claim.why = state_->claim_why;
            return state_->claim_error;
        }
        state_->claimed.insert(name);
        return 0;
    }
    int unclaim(wcalias_claim& claim) override
    {
        const std::string name = FakeWcaliasState::bar_name(claim.bar);
        state_->calls.push_back("unclaim " + name);
        if (state_->unclaim_error != 0)
            return state_->unclaim_error;
        state_->claimed.erase(name);
        return 0;
    }
    int create(wcalias_create& create) override
    {
        state_->calls.push_back("create " + FakeWcaliasState::bar_name(create.bar) + " " + std::to_string(create.offset)
            + "+" + std::to_string(create.length) + (create.memtype == WCALIAS_MEMTYPE_WC ? " wc" : " uc"));
        if (state_->create_error != 0) {
            create.why = state_->create_why;
            return state_->create_error;
        }
        const int fd = ::memfd_create("fake-wcalias", MFD_CLOEXEC);
        if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(create.length)) != 0)
            return errno;
        struct stat info {};
        ::fstat(fd, &info);
        create.fd = fd;
        create.id = state_->next_id++;
        create.effective = state_->effective.value_or(create.memtype);
        state_->live.insert(create.id);
        state_->created[create.id] = create;
        state_->id_of_inode[info.st_ino] = create.id;
        state_->claimed.insert(FakeWcaliasState::bar_name(create.bar));
        return 0;
    }
    int revoke(std::uint64_t id) override
    {
        state_->calls.push_back("revoke " + std::to_string(id));
        if (!state_->live.contains(id))
            return ENOENT;
        state_->kernel_revokes(id, WCALIAS_REVOKED_BY_REQUEST);
        return 0;
    }
    int revoke_all() override
    {
        state_->calls.push_back("revoke-all");
        for (std::uint64_t id : std::set<std::uint64_t>(state_->live))
            state_->kernel_revokes(id, WCALIAS_REVOKED_BY_REQUEST);
        return 0;
    }
    int query(wcalias_query& query) override
    {
        struct stat info {};
        if (::fstat(query.fd, &info) != 0)
            return EBADF;
        auto found = state_->id_of_inode.find(info.st_ino);
        if (found == state_->id_of_inode.end())
            return EINVAL;
        const std::uint64_t id = found->second;
        query.id = id;
        if (auto made = state_->created.find(id); made != state_->created.end()) {
            query.bar = made->second.bar;
            query.offset = made->second.offset;
            query.length = made->second.length;
        }
        query.own = state_->not_own.contains(id) ? 0 : 1;
        query.revoked = state_->live.contains(id) ? WCALIAS_LIVE
            : state_->revoked_because.contains(id) ? state_->revoked_because[id]
                                                   : WCALIAS_REVOKED_CONTEXT;
        return 0;
    }

private:
    std::shared_ptr<FakeWcaliasState> state_;
};

// A usable control on a fake whose state the test keeps.
inline std::unique_ptr<WcaliasControl> fake_wcalias_control(const std::shared_ptr<FakeWcaliasState>& state)
{
    WcaliasStatus status;
    status.loaded = true;
    status.module_version = "0.1-fake";
    return std::make_unique<WcaliasControl>(std::make_unique<FakeWcaliasDevice>(state), status);
}

// The control wcbrokerd has when the module is not loaded.
inline std::unique_ptr<WcaliasControl> absent_wcalias_control()
{
    WcaliasStatus status;
    status.why_unusable = "the wcalias module is not loaded (modprobe wcalias; install it with DKMS, see docs/admin.md)";
    return std::make_unique<WcaliasControl>(status);
}

} // namespace wcbroker::test
