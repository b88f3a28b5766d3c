// How numbers are shown to people: thousands separators, latencies with
// their unit. Shared by the progress line and the result table.
#pragma once

#include <cstdint>
#include <string>

namespace redcar::load {

std::string with_commas(double value);  // rounded: 1234567.8 -> "1,234,568"
std::string latency_text(uint64_t ns);  // "812.3 us", "4.21 ms", "12.03 s"

}  // namespace redcar::load
