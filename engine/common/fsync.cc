#include "engine/common/fsync.h"

#include <charconv>

namespace redcar {

bool parse_fsync_mode(std::string_view text, FsyncMode* mode, uint32_t* interval_ms) {
  if (text == "always") {
    *mode = FsyncMode::kAlways;
    return true;
  }
  if (text == "never") {
    *mode = FsyncMode::kNever;
    return true;
  }
  constexpr std::string_view kPrefix = "interval:";
  if (text.substr(0, kPrefix.size()) != kPrefix) return false;
  std::string_view n = text.substr(kPrefix.size());
  uint32_t v = 0;
  auto r = std::from_chars(n.data(), n.data() + n.size(), v);
  if (r.ec != std::errc() || r.ptr != n.data() + n.size() || v == 0) return false;
  *mode = FsyncMode::kInterval;
  *interval_ms = v;
  return true;
}

}  // namespace redcar
