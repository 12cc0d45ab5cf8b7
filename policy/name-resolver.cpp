#include "name-resolver.hpp"

#include <grp.h>
#include <pwd.h>
#include <vector>

namespace wcbroker {

std::optional<uid_t> SystemNameResolver::user_id(const std::string& name) const
{
    std::vector<char> buffer(16384);
    struct passwd entry {};
    struct passwd* found = nullptr;
    if (::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr)
        return std::nullopt;
    return found->pw_uid;
}

std::optional<gid_t> SystemNameResolver::group_id(const std::string& name) const
{
    std::vector<char> buffer(16384);
    struct group entry {};
    struct group* found = nullptr;
    if (::getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr)
        return std::nullopt;
    return found->gr_gid;
}

} // namespace wcbroker
