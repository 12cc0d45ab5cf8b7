// How wcbrokerctl doctor shows its report: text for people (problems
// first, aligned columns, the evidence and the remedy under each check) and
// JSON for scripts (schema 1, documented in wcbrokerctl(1)).
#pragma once

#include "doctor-checks.hpp"

#include <string>
#include <toml++/toml.h>

namespace wcbroker::cli {

inline constexpr std::int64_t doctor_json_schema = 1;

std::string doctor_text(const DoctorReport& report);
toml::table doctor_json(const DoctorReport& report, bool root);

} // namespace wcbroker::cli
