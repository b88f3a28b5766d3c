// What a shard tells its log: where its segments live, how large they are,
// when writes become durable, and the tuning that tests turn down.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "engine/common/fsync.h"
#include "engine/common/limits.h"

namespace redcar::log {

using redcar::FsyncMode;

struct LogOptions {
  std::string dir;  // this shard's folder
  uint16_t shard = 0;
  uint16_t shard_count = 1;
  uint64_t segment_bytes = limits::kDefaultSegmentBytes;
  FsyncMode fsync = FsyncMode::kAlways;
  uint32_t fsync_interval_ms = 100;
  size_t hot_cache_bytes = limits::kDefaultHotCacheBytes;
  bool repair = false;
  // See limits::kMinOverlappingFlushBytes; tests set 0 to make every flush
  // overlap.
  size_t min_overlapping_flush_bytes = limits::kMinOverlappingFlushBytes;
  // Recovery's read size (limits::kRecoveryChunkBytes); tests make it small.
  size_t recovery_chunk_bytes = limits::kRecoveryChunkBytes;
  // Whether transaction `txn`, which this log ends inside of, committed on
  // the shard that decides transactions spanning shards (FORMAT.md,
  // Transactions); nullopt when that cannot be known. Unset on the deciding
  // shard itself, whose unfinished transaction never committed.
  std::function<std::optional<bool>(uint64_t txn)> txn_committed;
};

}  // namespace redcar::log
