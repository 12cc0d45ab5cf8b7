// wcbrokerctl doctor's verdicts, drawn from DoctorFacts alone (no I/O), so
// each verdict is tested on facts. A check is "fail" only when something a
// grant of the policy needs does not hold; the same fact with no grant
// depending on it is a "warn". Check ids are stable: scripts and the JSON
// schema in wcbrokerctl(1) name them.
#pragma once

#include "doctor-facts.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wcbroker::cli {

enum class Verdict {
    Fail,
    Warn,
    Unknown,
    Ok,
};

std::string_view verdict_name(Verdict verdict);

struct DoctorCheck {
    std::string id;      // "platform.pat", "bar.prefetchable", ...
    std::string device;  // "" for the platform's checks
    std::optional<std::uint32_t> bar;
    Verdict verdict = Verdict::Unknown;
    std::string finding; // the state or the problem, in a few words
    std::string file;    // the evidence: what was read
    std::string value;   // and what it said
    std::string remedy;  // what to do; "" when ok
    bool needs_root = false; // unknown because this user may not read the file
};

struct DoctorReport {
    std::vector<DoctorCheck> checks; // platform first, then by device and BAR
    bool healthy() const;            // no fail: everything the grants need holds
    // The ids (with their device and BAR) of the checks that needed root.
    std::vector<std::string> not_run_without_root() const;
};

DoctorReport run_doctor_checks(const DoctorFacts& facts);

} // namespace wcbroker::cli
