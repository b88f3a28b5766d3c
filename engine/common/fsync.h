// When a shard's writes become durable (--fsync): every layer names the
// mode, the log alone acts on it.
#pragma once

#include <cstdint>
#include <string_view>

namespace redcar {

enum class FsyncMode : uint8_t {
  kAlways,    // acknowledged once on disk (O_DSYNC writes)
  kInterval,  // acknowledged once written; synced every interval
  kNever,     // acknowledged once written; synced at a clean stop
};

// Parses "always", "never", "interval:MS" (MS > 0).
bool parse_fsync_mode(std::string_view text, FsyncMode* mode, uint32_t* interval_ms);

}  // namespace redcar
