// Thousands separators and latency units (format.h).
#include "format.h"

#include <cmath>
#include <cstdio>

namespace redcar::load {

std::string with_commas(double value) {
  const bool negative = value < 0;
  auto v = static_cast<uint64_t>(std::llround(std::fabs(value)));
  std::string reversed;
  int digits = 0;
  do {
    if (digits > 0 && digits % 3 == 0) reversed.push_back(',');
    reversed.push_back(static_cast<char>('0' + v % 10));
    v /= 10;
    ++digits;
  } while (v > 0);
  if (negative) reversed.push_back('-');
  return std::string(reversed.rbegin(), reversed.rend());
}

std::string latency_text(uint64_t ns) {
  char buf[32];
  if (ns < 1000'000) {
    std::snprintf(buf, sizeof buf, "%.1f us", static_cast<double>(ns) / 1e3);
  } else if (ns < 1000'000'000) {
    std::snprintf(buf, sizeof buf, "%.2f ms", static_cast<double>(ns) / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f s", static_cast<double>(ns) / 1e9);
  }
  return buf;
}

}  // namespace redcar::load
