#include "engine/log/record.h"

#include <xxhash.h>

#include "engine/common/limits.h"

namespace redcar::log {

using namespace record_layout;

namespace {

constexpr char kSegmentMagic[8] = {'R', 'C', 'A', 'R', 'S', 'E', 'G', '1'};
constexpr uint32_t kFormatVersion = 1;

template <typename T>
void put(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof(T));  // little-endian hosts only (static_assert below)
}
template <typename T>
T get(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
static_assert(std::endian::native == std::endian::little, "the format is little-endian");

}  // namespace

uint64_t checksum(const void* data, size_t len) { return XXH3_64bits(data, len); }

uint8_t* begin_record(uint8_t* out, const RecordHeader& h, std::string_view name, size_t body_bytes) {
  const size_t length = kRecordHeaderBytes + name.size() + body_bytes;
  put<uint32_t>(out + kLengthAt, static_cast<uint32_t>(length));
  out[kTypeAt] = static_cast<uint8_t>(h.type);
  out[kFlagsAt] = h.flags;
  put<uint16_t>(out + kNameLengthAt, static_cast<uint16_t>(name.size()));
  put<uint64_t>(out + kNumberAt, h.number);
  put<uint64_t>(out + kIdMsAt, h.id_ms);
  put<uint64_t>(out + kIdSeqAt, h.id_seq);
  put<int64_t>(out + kTimestampAt, h.timestamp_us);
  if (!name.empty()) std::memcpy(out + kRecordHeaderBytes, name.data(), name.size());
  return out + kRecordHeaderBytes + name.size();
}

size_t finish_record(uint8_t* out) {
  const size_t length = get<uint32_t>(out + kLengthAt);
  const size_t total = padded(length);
  std::memset(out + length, 0, total - length);
  put<uint64_t>(out + kChecksumAt, checksum(out + kLengthAt, length - kLengthAt));
  return total;
}

size_t encode_record(uint8_t* out, const RecordHeader& h, std::string_view name, std::string_view body) {
  uint8_t* b = begin_record(out, h, name, body.size());
  if (!body.empty()) std::memcpy(b, body.data(), body.size());
  return finish_record(out);
}

DecodeResult decode_record(const uint8_t* data, size_t avail, size_t limit_bytes, RecordView* out, Verify verify) {
  if (avail < kNumberAt) return avail == 0 ? DecodeResult::kEnd : DecodeResult::kTruncated;
  const uint64_t sum = get<uint64_t>(data + kChecksumAt);
  const uint32_t length = get<uint32_t>(data + kLengthAt);
  if (sum == 0 && length == 0) return DecodeResult::kEnd;
  if (length < kRecordHeaderBytes || length > limits::kMaxRecordBytes || padded(length) > limit_bytes) {
    return DecodeResult::kBad;
  }
  if (avail < length) return DecodeResult::kTruncated;
  if (verify == Verify::kChecksum && checksum(data + kLengthAt, length - kLengthAt) != sum) return DecodeResult::kBad;
  const uint8_t type = data[kTypeAt];
  const uint16_t name_len = get<uint16_t>(data + kNameLengthAt);
  if (type == 0 || type > kMaxRecordType || kRecordHeaderBytes + name_len > length) return DecodeResult::kBad;
  out->header.type = static_cast<RecordType>(type);
  out->header.flags = data[kFlagsAt];
  out->header.number = get<uint64_t>(data + kNumberAt);
  out->header.id_ms = get<uint64_t>(data + kIdMsAt);
  out->header.id_seq = get<uint64_t>(data + kIdSeqAt);
  out->header.timestamp_us = get<int64_t>(data + kTimestampAt);
  out->name = std::string_view(reinterpret_cast<const char*>(data + kRecordHeaderBytes), name_len);
  out->body = std::string_view(reinterpret_cast<const char*>(data + kRecordHeaderBytes + name_len),
                               length - kRecordHeaderBytes - name_len);
  out->length = length;
  out->padded_length = static_cast<uint32_t>(padded(length));
  return DecodeResult::kOk;
}

void encode_segment_header(uint8_t* out, const SegmentHeader& h) {
  std::memset(out, 0, kSegmentHeaderBytes);
  std::memcpy(out, kSegmentMagic, 8);
  put<uint32_t>(out + 8, kFormatVersion);
  put<uint16_t>(out + 12, h.shard);
  put<uint16_t>(out + 14, h.shard_count);
  put<uint64_t>(out + 16, h.first_offset);
  put<uint64_t>(out + 24, h.size_bytes);
  put<uint64_t>(out + 32, h.prev_batch_seq);
  put<uint64_t>(out + 56, checksum(out, 56));
}

DecodeResult decode_segment_header(const uint8_t* data, SegmentHeader* out) {
  bool zero = true;
  for (size_t i = 0; i < kSegmentHeaderBytes && zero; ++i) zero = data[i] == 0;
  if (zero) return DecodeResult::kEnd;
  if (std::memcmp(data, kSegmentMagic, 8) != 0) return DecodeResult::kBad;
  if (get<uint32_t>(data + 8) != kFormatVersion) return DecodeResult::kBad;
  if (get<uint64_t>(data + 56) != checksum(data, 56)) return DecodeResult::kBad;
  out->shard = get<uint16_t>(data + 12);
  out->shard_count = get<uint16_t>(data + 14);
  out->first_offset = get<uint64_t>(data + 16);
  out->size_bytes = get<uint64_t>(data + 24);
  out->prev_batch_seq = get<uint64_t>(data + 32);
  return DecodeResult::kOk;
}

}  // namespace redcar::log
