// How an engine is set up: the server's storage flags. Plain data; the
// facade takes it whole and each shard gets it with its own folder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/common/fsync.h"
#include "engine/common/limits.h"

namespace redcar {

namespace io {
class MemFs;
}

struct EngineOptions {
  std::string data_dir = "./data";
  unsigned shards = 0;  // 0: one per core
  FsyncMode fsync = FsyncMode::kAlways;
  uint32_t fsync_interval_ms = 100;
  uint64_t segment_bytes = limits::kDefaultSegmentBytes;
  size_t hot_cache_bytes = limits::kDefaultHotCacheBytes;
  bool repair = false;
  uint32_t reclaim_interval_ms = 1000;  // how often shards look for segments to reclaim
  io::MemFs* mem_fs = nullptr;          // tests: use the in-memory disk
};

}  // namespace redcar
