// The record codec: the only code that knows the byte layout of a record and
// of a segment header (engine/FORMAT.md). Encoding appends to a buffer;
// decoding checks length bounds and the xxh3 checksum before it trusts a
// single field, and never reads past the bytes it is given.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/body_codec.h"
#include "engine/common/limits.h"
#include "engine/common/status.h"
#include "runtime/task.h"

namespace redcar::log {

enum class RecordType : uint8_t {
  kEvent = 1,
  kStreamCreate = 2,
  kStreamDelete = 3,
  kStreamTrim = 4,
  kEventDelete = 5,
  kStreamSetId = 6,
  kKvTxn = 7,
  kKvCompact = 8,
  kGroupCreate = 9,
  kGroupDestroy = 10,
  kGroupSetId = 11,
  kConsumerCreate = 12,
  kConsumerDelete = 13,
  kGroupDeliver = 14,
  kGroupAck = 15,
  kGroupClaim = 16,
  // Opens each flush: number = bytes of the records that follow, id_ms =
  // their count, id_seq = xxh3 of those bytes.
  kBatch = 17,
  // The key-value view re-stated before segments holding its history are
  // reclaimed (number = the revision counter).
  kKvRestore = 18,
  // A transaction's mark (FORMAT.md, Transactions): number = its id, body
  // one byte, TxnMark.
  kTxn = 19,
  // A stream's standing settings, whole (FORMAT.md): its deadline so far.
  kStreamConfig = 20,
};
inline constexpr uint8_t kMaxRecordType = 20;

enum class TxnMark : uint8_t {
  kBegin = 1,   // first record of a transaction's first provisional batch
  kCommit = 2,  // settles the provisional batches before it
};

inline bool is_kv_record(RecordType t) {
  return t == RecordType::kKvTxn || t == RecordType::kKvCompact || t == RecordType::kKvRestore;
}

inline constexpr size_t kRecordHeaderBytes = 48;
inline constexpr size_t kRecordAlignBytes = 8;
inline constexpr size_t kSegmentHeaderBytes = 64;

// Where each field of a record header sits (FORMAT.md, Records).
namespace record_layout {
inline constexpr size_t kChecksumAt = 0;      // u64
inline constexpr size_t kLengthAt = 8;        // u32
inline constexpr size_t kTypeAt = 12;         // u8
inline constexpr size_t kFlagsAt = 13;        // u8
inline constexpr size_t kNameLengthAt = 14;   // u16
inline constexpr size_t kNumberAt = 16;       // u64
inline constexpr size_t kIdMsAt = 24;         // u64
inline constexpr size_t kIdSeqAt = 32;        // u64
inline constexpr size_t kTimestampAt = 40;    // i64
}  // namespace record_layout

// The header's fields are packed, in order, into exactly its size; the
// checksum covers everything after itself.
static_assert(record_layout::kChecksumAt + 8 == record_layout::kLengthAt);
static_assert(record_layout::kLengthAt + 4 == record_layout::kTypeAt);
static_assert(record_layout::kTypeAt + 1 == record_layout::kFlagsAt);
static_assert(record_layout::kFlagsAt + 1 == record_layout::kNameLengthAt);
static_assert(record_layout::kNameLengthAt + 2 == record_layout::kNumberAt);
static_assert(record_layout::kNumberAt + 8 == record_layout::kIdMsAt);
static_assert(record_layout::kIdMsAt + 8 == record_layout::kIdSeqAt);
static_assert(record_layout::kIdSeqAt + 8 == record_layout::kTimestampAt);
static_assert(record_layout::kTimestampAt + 8 == kRecordHeaderBytes);
static_assert(kRecordHeaderBytes % kRecordAlignBytes == 0, "records start aligned, so names start aligned");
static_assert(kSegmentHeaderBytes % kRecordAlignBytes == 0, "the first record of a segment is aligned");
static_assert(kSegmentHeaderBytes + kRecordHeaderBytes <= limits::kBlockBytes,
              "a segment's header and its first batch record share the first block");
// Lengths are stored in 32 bits and name lengths in 16.
static_assert(limits::kMaxRecordBytes < (uint64_t{1} << 32));
static_assert(limits::kMaxNameBytes < (1u << 16));
static_assert(kRecordHeaderBytes + limits::kMaxNameBytes < limits::kMaxRecordBytes);
static_assert(uint64_t{kMaxRecordType} < 256);

// Flags of a batch record (FORMAT.md).
// The log was closed cleanly right after this (empty) batch: every write
// before it was durable, none was in flight or followed, and the segment
// after the one holding it is all zeros if it exists.
inline constexpr uint8_t kBatchFlagClose = 1;
// The batch was written while a transaction held the shard: provisional
// until the transaction's commit mark follows.
inline constexpr uint8_t kBatchFlagTxn = 2;

struct RecordHeader {
  RecordType type = RecordType::kEvent;
  uint8_t flags = 0;
  uint64_t number = 0;
  uint64_t id_ms = 0;
  uint64_t id_seq = 0;
  int64_t timestamp_us = 0;
};

// A decoded record. Views point into the buffer it was decoded from.
struct RecordView {
  RecordHeader header;
  std::string_view name;
  std::string_view body;
  uint32_t length = 0;        // without padding
  uint32_t padded_length = 0;  // distance to the next record
};

// Visits records in log order; returns false to stop. Room inline for a
// reader's bounds, its stream's name and a visitor of its own, so that a
// scan of cached records allocates nothing.
using RecordVisitor = runtime::Function<bool(const RecordView& rec, uint64_t log_offset), 256>;

inline constexpr size_t padded(size_t n) { return (n + kRecordAlignBytes - 1) & ~(kRecordAlignBytes - 1); }
inline size_t record_size(size_t name_bytes, size_t body_bytes) {
  return padded(kRecordHeaderBytes + name_bytes + body_bytes);
}

// Appends one record (with its padding) at `out`, which must have
// record_size(name, body) bytes of room. Returns the bytes written.
size_t encode_record(uint8_t* out, const RecordHeader& h, std::string_view name, std::string_view body);

// The same in two steps, for a body written in place: begin_record() lays
// out the header and the name and returns where the `body_bytes` of body
// go; once they are written, finish_record() pads and checksums the record
// and returns its size with padding.
uint8_t* begin_record(uint8_t* out, const RecordHeader& h, std::string_view name, size_t body_bytes);
size_t finish_record(uint8_t* out);

enum class DecodeResult : uint8_t {
  kOk,
  kEnd,        // zero header: no more data
  kTruncated,  // the buffer ends inside the record (read more)
  kBad,        // length out of bounds or checksum mismatch
};

enum class Verify : uint8_t {
  kChecksum,  // check the record's own checksum
  // Skip it: for records inside a batch whose checksum was just verified,
  // which covers every byte of them, and for records this process encoded.
  kBoundsOnly,
};

// Decodes the record at data[0..avail). `limit_bytes` bounds the length a
// record may claim (the rest of its segment). Lengths, type and name are
// checked either way.
DecodeResult decode_record(const uint8_t* data, size_t avail, size_t limit_bytes, RecordView* out,
                           Verify verify = Verify::kChecksum);

struct SegmentHeader {
  uint16_t shard = 0;
  uint16_t shard_count = 0;
  uint64_t first_offset = 0;
  uint64_t size_bytes = 0;
  uint64_t prev_batch_seq = 0;  // sequence number of the batch before this segment's first
};
void encode_segment_header(uint8_t* out, const SegmentHeader& h);
// kOk, kEnd (all zero: prepared, never written) or kBad.
DecodeResult decode_segment_header(const uint8_t* data, SegmentHeader* out);

uint64_t checksum(const void* data, size_t len);

// The body building blocks (varints, length-prefixed strings) are common
// code: event views outside the engine walk bodies too.
using redcar::BodyReader;
using redcar::BodyWriter;
using redcar::RawBodyWriter;
using redcar::str_size;
using redcar::varint_size;

}  // namespace redcar::log
