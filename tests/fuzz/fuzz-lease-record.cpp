// libFuzzer target: the lease records a restarted wcbrokerd reads from its
// state directory (daemon/core/lease-record.cpp). They are written by the daemon
// itself, but a crash mid-write, a full disk or a meddling admin can leave
// anything there. Besides "no crash": a record that parses formats back to
// text that parses to the same record (nothing is lost or invented).

#include "lease-record.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace wcbroker;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(bytes), size);
    const auto parsed = parse_lease_record(text);
    const auto* record = std::get_if<LeaseRecord>(&parsed);
    if (record == nullptr) {
        if (std::get<std::string>(parsed).empty())
            std::abort(); // a refusal must say why
        return 0;
    }
    const std::string again = format_lease_record(record->lease, record->bus_id);
    const auto reparsed = parse_lease_record(again);
    const auto* second = std::get_if<LeaseRecord>(&reparsed);
    if (second == nullptr || format_lease_record(second->lease, second->bus_id) != again)
        std::abort();
    return 0;
}
