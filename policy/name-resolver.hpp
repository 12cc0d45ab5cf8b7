// User and group names in a policy resolve through NSS; tests inject a fake.
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>

namespace wcbroker {

class NameResolver {
public:
    virtual ~NameResolver() = default;
    virtual std::optional<uid_t> user_id(const std::string& name) const = 0;
    virtual std::optional<gid_t> group_id(const std::string& name) const = 0;
};

// getpwnam_r/getgrnam_r. May block on network NSS modules, which is why the
// daemon resolves only at policy load, never per request.
class SystemNameResolver final : public NameResolver {
public:
    std::optional<uid_t> user_id(const std::string& name) const override;
    std::optional<gid_t> group_id(const std::string& name) const override;
};

} // namespace wcbroker
