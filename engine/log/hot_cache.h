// The newest written batches of one shard's log, kept in memory up to a
// byte budget, oldest first: live subscribers and hot reads walk them
// without I/O. It also keeps a few batch buffers for reuse, so that group
// commit under steady load does not allocate one per flush.
//
// Only written batches enter (their bytes never change again), in log
// order. Used by one shard's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "engine/io/aligned_buffer.h"
#include "engine/log/record.h"

namespace redcar::log {

class HotCache {
 public:
  explicit HotCache(size_t capacity_bytes) : capacity_bytes_(capacity_bytes) {}

  // Keeps a written batch whose buffer starts at file offset `file_base` of
  // the segment at `seg_first`, with its records at [begin, end) of `buf`
  // (past the batch record). Evicts the oldest batches over the budget.
  void insert(uint64_t seg_first, uint64_t file_base, size_t begin, size_t end, io::AlignedBuffer buf);

  enum class Walk : uint8_t {
    kStopped,  // the visitor returned false
    kEnd,      // every cached record from *from on was visited
    kMiss,     // *from is not in the cache: read it from disk
  };
  // Visits the cached records from the record at log offset `*from` on,
  // leaving *from where the walk ended.
  Walk walk(uint64_t* from, const RecordVisitor& visit) const;

  // A buffer for a new batch (empty if none is kept), and one given back.
  io::AlignedBuffer take_spare();
  void recycle(io::AlignedBuffer buf);

  size_t bytes() const { return bytes_; }

 private:
  struct Chunk {
    uint64_t seg_first;
    uint64_t file_base;
    size_t begin;  // first record byte in buf (past the batch record)
    size_t end;
    io::AlignedBuffer buf;
    uint64_t log_base() const { return seg_first + file_base; }
  };
  static constexpr size_t kSpareBuffers = 4;

  size_t capacity_bytes_;
  size_t bytes_ = 0;
  std::deque<Chunk> chunks_;
  std::vector<io::AlignedBuffer> spares_;
};

}  // namespace redcar::log
