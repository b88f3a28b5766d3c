// Numbers as Redis reads and writes them in values: INCR's strict
// integers and INCRBYFLOAT's long doubles, for strings and hash fields
// alike.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace redcar::resp {

// Redis's integer rule: the whole string, optional '-', no '+', no spaces,
// no leading zeros, within 64 bits.
bool strict_int(std::string_view s, int64_t* out);
// A float as INCRBYFLOAT reads its increment and the value: no leading
// space, no NaN, within range.
bool parse_float(std::string_view s, long double* out);
// A long double as INCRBYFLOAT answers (and stores) it, as Redis prints
// one: 17 decimals, no exponent, no trailing zeros.
std::string format_float(long double v);

}  // namespace redcar::resp
