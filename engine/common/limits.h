// Every limit and tuning constant of the engine, in one place, with its unit
// in its name. Configurable ones are defaults for EngineOptions.
#pragma once

#include <cstddef>
#include <cstdint>

namespace redcar::limits {

// Direct I/O works in whole blocks at block-aligned offsets.
inline constexpr size_t kBlockBytes = 4096;

// Segment files are preallocated at this size and rolled when full.
inline constexpr uint64_t kDefaultSegmentBytes = 256ull << 20;
inline constexpr uint64_t kMinSegmentBytes = 64ull << 10;

// One record (header + name + body) may not exceed this; it bounds the
// window that recovery searches past a bad record for a valid one.
inline constexpr size_t kMaxRecordBytes = 32ull << 20;
inline constexpr size_t kMaxNameBytes = 1024;
inline constexpr size_t kMaxEventsPerAppend = 100000;

// One flush (group commit) merges records up to this much; a batch never
// spans segments. Bytes past this stay staged for the next flush.
inline constexpr size_t kMaxFlushBytes = 8ull << 20;
// One append is one batch (all of it survives a crash or none does), so it
// may make a batch larger than kMaxFlushBytes, up to this.
inline constexpr size_t kMaxAppendBytes = 32ull << 20;
inline constexpr size_t kMaxBatchBytes = kMaxAppendBytes;

// Durable writes (flushes) a shard keeps in flight at once: several O_DSYNC
// writes in flight reach a multiple of the rate of one. Recovery relies on
// this bound to tell a torn tail from corruption.
inline constexpr uint64_t kMaxFlushesInFlight = 4;
// A write starts while another is in flight only when it carries at least
// this much: small records (an XADD, a Put) wait and share the next write
// instead, which costs the disk fewer, fuller writes; large ones overlap.
inline constexpr size_t kMinOverlappingFlushBytes = 64u << 10;

// Recovery reads segments in chunks of this size, this many ahead of the
// one being scanned.
inline constexpr size_t kRecoveryChunkBytes = 8ull << 20;
inline constexpr size_t kRecoveryReadsAhead = 2;

// Cold reads fetch at least this much per io_uring read.
inline constexpr size_t kColdReadBytes = 256ull << 10;
// A cold scan that reads blocks in order has this many of the next blocks
// read ahead of it, and a shard holds at most kReadAheadMaxBlocks of them
// (read or in flight) for all its scans together.
inline constexpr size_t kReadAheadBlocks = 4;
inline constexpr size_t kReadAheadMaxBlocks = 16;

// Recently written log bytes kept in memory per shard for hot reads and live
// subscribers.
inline constexpr size_t kDefaultHotCacheBytes = 64ull << 20;

// A sparse index entry per this many events of a stream.
inline constexpr uint64_t kIndexStride = 32;

// Idempotency ids remembered per stream for duplicate detection.
inline constexpr size_t kIdempotencyWindow = 4096;

// Events buffered for one subscriber before it falls back to the log.
inline constexpr size_t kDefaultSubscriberBufferEvents = 4096;
inline constexpr size_t kSubscriberBatchEvents = 512;

// Submission queue depth of a shard's io_uring, which its disk and its
// sockets share (a full queue is submitted, never refused).
inline constexpr unsigned kRingEntries = 4096;

// How the limits must relate; a change that breaks one fails the build.
static_assert(kMinSegmentBytes % kBlockBytes == 0 && kDefaultSegmentBytes % kBlockBytes == 0,
              "segments are whole blocks (O_DIRECT)");
static_assert(kDefaultSegmentBytes >= kMinSegmentBytes);
static_assert(kMaxRecordBytes <= kMaxAppendBytes, "a record fits in one append");
static_assert(kMaxFlushBytes <= kMaxBatchBytes, "a flush never merges past a batch's limit");
static_assert(kMaxAppendBytes <= kMaxBatchBytes, "one append is one batch");
static_assert(kMaxBatchBytes <= kDefaultSegmentBytes / 4, "a batch never spans segments, so it must fit in one");
static_assert(kColdReadBytes % kBlockBytes == 0 && kRecoveryChunkBytes % kBlockBytes == 0,
              "reads are whole blocks (O_DIRECT)");
static_assert(kMaxFlushesInFlight >= 1, "recovery's torn-tail window is kMaxFlushesInFlight batches");
static_assert(kIdempotencyWindow > 0 && (kIdempotencyWindow & (kIdempotencyWindow - 1)) == 0 &&
                  kIdempotencyWindow < 65536,
              "the idempotency window is a power of two its 16-bit table can index");
static_assert(kIndexStride > 0 && (kIndexStride & (kIndexStride - 1)) == 0);
static_assert(kSubscriberBatchEvents <= kDefaultSubscriberBufferEvents);
static_assert(kMaxNameBytes < 65536, "names are stored with 16-bit lengths");

}  // namespace redcar::limits
