// Reads of one shard's log by log offset: a scan walks the hot cache while
// it can and reads the segment files (io_uring, O_DIRECT) where it cannot,
// in fixed 256 KiB blocks that a small LRU keeps, so that a range read
// again does not go to the disk again. A record that straddles two blocks
// is stitched from both rather than read a second time.
//
// Read-ahead: a scan that asks for the block after one it read lately is
// reading in order (a catch-up), and the next few blocks are read for it
// at once, several reads in flight instead of one at a time; a scan that
// reaches a block still in flight waits for that read instead of issuing
// its own.
//
// Only written data is read (up to LogPositions::written, captured when
// each read is issued: a batch that lands while a read is in flight is not
// trusted from it). Used by one shard's thread; callbacks run on it.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "engine/common/callback.h"
#include "engine/common/limits.h"
#include "engine/common/status.h"
#include "engine/io/aligned_buffer.h"
#include "engine/log/block_cache.h"
#include "engine/log/hot_cache.h"
#include "engine/log/positions.h"
#include "engine/log/record.h"
#include "engine/log/segment_set.h"

namespace redcar::log {

class LogReader {
 public:
  using Done = runtime::Function<void(Status), kCallbackInlineBytes + 32>;

  LogReader(const SegmentSet& segments, const HotCache& hot, const LogPositions& positions,
            size_t block_cache_bytes)
      : segs_(segments), hot_(hot), pos_(positions), blocks_(block_cache_bytes) {}

  // Visits records from `from` (the offset of a record, or a segment's
  // start) in log order until `visit` returns false or the written data
  // ends; then done(status).
  void scan(uint64_t from, RecordVisitor visit, Done done);

  // A segment was removed: forget its blocks.
  void forget(uint64_t seg_first);
  // Blocks read ahead so far and how many of them a scan used (tests).
  uint64_t read_ahead_issued() const { return ahead_issued_; }
  uint64_t read_ahead_used() const { return ahead_used_; }

 private:
  using Buffer = std::shared_ptr<const io::AlignedBuffer>;

  // Where the read of `from` must really start: past a segment header, or
  // in the next segment when no record fits in what is left of this one.
  uint64_t normalize(uint64_t from) const;
  uint64_t next_segment_offset(uint64_t log_offset) const;
  void scan_cold(uint64_t from, RecordVisitor visit, Done done, size_t min_bytes = limits::kColdReadBytes);
  // Visits the records of a block read from disk, up to `bound` (what was
  // written when the read was issued), then goes on with scan().
  void scan_block(uint64_t from, uint64_t seg_first, uint64_t base, Buffer buf, size_t have, uint64_t bound,
                  RecordVisitor visit, Done done);
  // A record at log offset `at` that begins in the block at `base` (its
  // first `head` bytes are the end of `buf`) and ends in the next: joins its
  // two parts, visits it, and goes on in the next block, which is now read
  // (or found cached) once instead of being read again from the record on.
  void stitch(uint64_t at, uint64_t seg_first, uint64_t base, Buffer buf, size_t head, size_t length, uint64_t bound,
              RecordVisitor visit, Done done);
  void stitch_with(uint64_t at, uint64_t seg_first, uint64_t next_base, const uint8_t* head_bytes, size_t head,
                   size_t length, Buffer next, size_t next_have, uint64_t bound, RecordVisitor visit, Done done);
  // Caches a block read whole before `bound`, if its segment is still there.
  void keep_block(uint64_t seg_first, uint64_t base, const std::shared_ptr<io::AlignedBuffer>& buf, size_t have,
                  uint64_t bound);

  // A block read ahead: in flight until `done`, then kept until a scan
  // takes it (or passes it, or its segment goes).
  struct Ahead {
    std::shared_ptr<io::AlignedBuffer> buf;
    uint64_t bound = 0;  // written when it was issued: trusted up to here
    int result = 0;
    bool done = false;
    std::vector<runtime::Task> waiters;  // scans that reached it in flight
  };
  // A scan uses the block at `key` (log offset): notes it, and when the one
  // before it was used lately, reads the next blocks ahead.
  void used_block(uint64_t seg_first, uint64_t base);
  void read_ahead(uint64_t seg_first, uint64_t base);
  // The block read ahead at `base`, as a scan reaching it finds it: still in
  // flight (wait on it), landed (taken out of the table, cached and counted
  // as used), or nothing to use (none was read, or its read failed).
  struct AheadBlock {
    Ahead* in_flight = nullptr;
    Buffer buf;
    size_t have = 0;
    uint64_t bound = 0;
  };
  AheadBlock take_ahead(uint64_t seg_first, uint64_t base);

  const SegmentSet& segs_;
  const HotCache& hot_;
  const LogPositions& pos_;
  BlockCache blocks_;
  std::map<uint64_t, std::shared_ptr<Ahead>> ahead_;  // by log offset
  std::array<uint64_t, 16> recent_{};  // log offsets of the last blocks used, + 1
  size_t recent_next_ = 0;
  uint64_t ahead_issued_ = 0;
  uint64_t ahead_used_ = 0;
};

}  // namespace redcar::log
