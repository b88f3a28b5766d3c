// The record codec: the only code that knows the byte layout of a record and
// of a segment header (engine/FORMAT.md). Encoding appends to a buffer;
// decoding checks length bounds and the xxh3 checksum before it trusts a
// single field, and never reads past the bytes it is given.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/status.h"

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
};
inline constexpr uint8_t kMaxRecordType = 18;

inline bool is_kv_record(RecordType t) {
  return t == RecordType::kKvTxn || t == RecordType::kKvCompact || t == RecordType::kKvRestore;
}

inline constexpr size_t kRecordHeaderBytes = 48;
inline constexpr size_t kRecordAlignBytes = 8;
inline constexpr size_t kSegmentHeaderBytes = 64;

struct RecordHeader {
  RecordType type = RecordType::kEvent;
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

inline constexpr size_t padded(size_t n) { return (n + kRecordAlignBytes - 1) & ~(kRecordAlignBytes - 1); }
inline size_t record_size(size_t name_bytes, size_t body_bytes) {
  return padded(kRecordHeaderBytes + name_bytes + body_bytes);
}

// Appends one record (with its padding) at `out`, which must have
// record_size(name, body) bytes of room. Returns the bytes written.
size_t encode_record(uint8_t* out, const RecordHeader& h, std::string_view name, std::string_view body);

enum class DecodeResult : uint8_t {
  kOk,
  kEnd,        // zero header: no more data
  kTruncated,  // the buffer ends inside the record (read more)
  kBad,        // length out of bounds or checksum mismatch
};

// Decodes the record at data[0..avail). `limit_bytes` bounds the length a
// record may claim (the rest of its segment).
DecodeResult decode_record(const uint8_t* data, size_t avail, size_t limit_bytes, RecordView* out);

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

// Body building blocks: LEB128 varints and length-prefixed strings.
class BodyWriter {
 public:
  explicit BodyWriter(std::string* out) : out_(out) {}
  void varint(uint64_t v);
  void str(std::string_view s);
  void byte(uint8_t b) { out_->push_back(static_cast<char>(b)); }

 private:
  std::string* out_;
};

class BodyReader {
 public:
  explicit BodyReader(std::string_view in) : in_(in) {}
  bool varint(uint64_t* v);
  bool str(std::string_view* s);
  bool byte(uint8_t* b);
  bool done() const { return pos_ == in_.size(); }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace redcar::log
