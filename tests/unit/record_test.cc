// The record codec (engine/log/record.h): records and segment headers round
// trip, every byte a record's checksum covers is checked, decoding respects
// the bounds it is given, and the body readers refuse malformed input.
#include "engine/log/record.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "engine/common/limits.h"

namespace redcar::log {
namespace {

std::vector<uint8_t> encode(const RecordHeader& h, std::string_view name, std::string_view body,
                            size_t extra_zero_bytes = 0) {
  std::vector<uint8_t> buf(record_size(name.size(), body.size()) + extra_zero_bytes, 0);
  size_t n = encode_record(buf.data(), h, name, body);
  EXPECT_EQ(n, record_size(name.size(), body.size()));
  return buf;
}

RecordHeader sample_header() {
  RecordHeader h;
  h.type = RecordType::kEvent;
  h.number = 0x0102030405060708ull;
  h.id_ms = 1700000000123ull;
  h.id_seq = 42;
  h.timestamp_us = -5;  // any value survives, even a negative one
  return h;
}

TEST(RecordCodec, RoundTripKeepsEveryField) {
  RecordHeader h = sample_header();
  std::string name = "orders";
  std::string body("\x00\x01payload\xff", 10);
  auto buf = encode(h, name, body);
  RecordView v;
  ASSERT_EQ(decode_record(buf.data(), buf.size(), buf.size(), &v), DecodeResult::kOk);
  EXPECT_EQ(v.header.type, RecordType::kEvent);
  EXPECT_EQ(v.header.number, h.number);
  EXPECT_EQ(v.header.id_ms, h.id_ms);
  EXPECT_EQ(v.header.id_seq, h.id_seq);
  EXPECT_EQ(v.header.timestamp_us, h.timestamp_us);
  EXPECT_EQ(v.name, name);
  EXPECT_EQ(v.body, body);
  EXPECT_EQ(v.length, kRecordHeaderBytes + name.size() + body.size());
  EXPECT_EQ(v.padded_length, buf.size());
  // The views point into the buffer, not into copies.
  EXPECT_EQ(reinterpret_cast<const uint8_t*>(v.name.data()), buf.data() + kRecordHeaderBytes);
}

TEST(RecordCodec, EveryTypeRoundTrips) {
  for (uint8_t t = 1; t <= kMaxRecordType; ++t) {
    RecordHeader h = sample_header();
    h.type = static_cast<RecordType>(t);
    auto buf = encode(h, "s", "b");
    RecordView v;
    ASSERT_EQ(decode_record(buf.data(), buf.size(), buf.size(), &v), DecodeResult::kOk) << int(t);
    EXPECT_EQ(static_cast<uint8_t>(v.header.type), t);
  }
}

TEST(RecordCodec, EmptyNameAndBody) {
  RecordHeader h;
  h.type = RecordType::kKvCompact;
  h.number = 7;
  auto buf = encode(h, {}, {});
  ASSERT_EQ(buf.size(), kRecordHeaderBytes);
  RecordView v;
  ASSERT_EQ(decode_record(buf.data(), buf.size(), buf.size(), &v), DecodeResult::kOk);
  EXPECT_TRUE(v.name.empty());
  EXPECT_TRUE(v.body.empty());
  EXPECT_EQ(v.length, kRecordHeaderBytes);
  EXPECT_EQ(v.padded_length, kRecordHeaderBytes);
  EXPECT_EQ(v.header.number, 7u);
}

TEST(RecordCodec, MaxNameAndNameOnly) {
  std::string name(limits::kMaxNameBytes, 'n');
  name.front() = 'a';
  name.back() = 'z';
  auto buf = encode(sample_header(), name, "body");
  RecordView v;
  ASSERT_EQ(decode_record(buf.data(), buf.size(), buf.size(), &v), DecodeResult::kOk);
  EXPECT_EQ(v.name, name);
  EXPECT_EQ(v.body, "body");

  auto only_name = encode(sample_header(), "stream", {});
  ASSERT_EQ(decode_record(only_name.data(), only_name.size(), only_name.size(), &v), DecodeResult::kOk);
  EXPECT_EQ(v.name, "stream");
  EXPECT_TRUE(v.body.empty());
}

TEST(RecordCodec, PaddedToEightWithZeros) {
  for (size_t body_len = 0; body_len < 40; ++body_len) {
    std::string body(body_len, 'x');
    // Fill the buffer with garbage first: encoding must zero the padding.
    std::vector<uint8_t> buf(record_size(3, body_len) + 8, 0xAB);
    size_t n = encode_record(buf.data(), sample_header(), "abc", body);
    size_t length = kRecordHeaderBytes + 3 + body_len;
    EXPECT_EQ(n % kRecordAlignBytes, 0u);
    EXPECT_GE(n, length);
    EXPECT_LT(n - length, kRecordAlignBytes);
    EXPECT_EQ(n, padded(length));
    for (size_t i = length; i < n; ++i) EXPECT_EQ(buf[i], 0) << "padding byte " << i;
    EXPECT_EQ(buf[n], 0xAB) << "wrote past the record";
    RecordView v;
    ASSERT_EQ(decode_record(buf.data(), n, n, &v), DecodeResult::kOk);
    EXPECT_EQ(v.padded_length, n);
  }
  EXPECT_EQ(padded(0), 0u);
  EXPECT_EQ(padded(1), 8u);
  EXPECT_EQ(padded(8), 8u);
  EXPECT_EQ(padded(9), 16u);
}

TEST(RecordCodec, FlippedByteAnywhereIsDetected) {
  // A small record with an unpadded length, decoded from a larger zeroed
  // buffer so that a flipped length bit cannot pass as "read more".
  auto clean = encode(sample_header(), "str", "body!", 256);
  const size_t length = kRecordHeaderBytes + 3 + 5;
  RecordView v;
  ASSERT_EQ(decode_record(clean.data(), clean.size(), clean.size(), &v), DecodeResult::kOk);
  for (size_t i = 0; i < length; ++i) {
    for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xFF}}) {
      auto bad = clean;
      bad[i] ^= mask;
      EXPECT_EQ(decode_record(bad.data(), bad.size(), bad.size(), &v), DecodeResult::kBad)
          << "byte " << i << " mask " << int(mask);
    }
  }
}

TEST(RecordCodec, ZerosAreTheEnd) {
  std::vector<uint8_t> zeros(256, 0);
  RecordView v;
  EXPECT_EQ(decode_record(zeros.data(), zeros.size(), zeros.size(), &v), DecodeResult::kEnd);
  EXPECT_EQ(decode_record(zeros.data(), 16, 16, &v), DecodeResult::kEnd);
  EXPECT_EQ(decode_record(zeros.data(), 0, 0, &v), DecodeResult::kEnd);
  // Only the checksum and length fields decide: a zero checksum with a
  // length is not the end.
  zeros[8] = 64;
  EXPECT_EQ(decode_record(zeros.data(), zeros.size(), zeros.size(), &v), DecodeResult::kBad);
}

TEST(RecordCodec, ShortBufferIsTruncated) {
  auto buf = encode(sample_header(), "stream", std::string(100, 'b'));
  RecordView v;
  for (size_t avail : {size_t{1}, size_t{8}, size_t{15}, size_t{16}, size_t{47}, size_t{48}, buf.size() - 8}) {
    EXPECT_EQ(decode_record(buf.data(), avail, buf.size(), &v), DecodeResult::kTruncated) << avail;
  }
  // The padding need not be there: the unpadded length is enough.
  size_t length = kRecordHeaderBytes + 6 + 100;
  EXPECT_EQ(decode_record(buf.data(), length, buf.size(), &v), DecodeResult::kOk);
}

TEST(RecordCodec, LengthOutOfBoundsIsBad) {
  auto clean = encode(sample_header(), "stream", "body", 64);
  RecordView v;
  auto with_length = [&](uint32_t length) {
    auto b = clean;
    std::memcpy(b.data() + 8, &length, sizeof(length));
    return b;
  };
  // Shorter than a header.
  for (uint32_t len : {1u, 8u, 47u}) {
    auto b = with_length(len);
    EXPECT_EQ(decode_record(b.data(), b.size(), b.size(), &v), DecodeResult::kBad) << len;
  }
  // Longer than any record may be.
  for (uint32_t len : {static_cast<uint32_t>(limits::kMaxRecordBytes + 1), 0xFFFFFFFFu}) {
    auto b = with_length(len);
    EXPECT_EQ(decode_record(b.data(), b.size(), std::numeric_limits<size_t>::max(), &v), DecodeResult::kBad)
        << len;
  }
  // Past the limit the caller gives (the rest of the segment), even with
  // the whole record in the buffer.
  size_t padded_len = record_size(6, 4);
  EXPECT_EQ(decode_record(clean.data(), clean.size(), padded_len - 8, &v), DecodeResult::kBad);
  EXPECT_EQ(decode_record(clean.data(), clean.size(), padded_len, &v), DecodeResult::kOk);
  // A name longer than the record: caught even with a valid checksum.
  auto b = clean;
  uint16_t name_len = 200;
  std::memcpy(b.data() + 14, &name_len, sizeof(name_len));
  uint32_t length;
  std::memcpy(&length, b.data() + 8, sizeof(length));
  uint64_t sum = checksum(b.data() + 8, length - 8);
  std::memcpy(b.data(), &sum, sizeof(sum));
  EXPECT_EQ(decode_record(b.data(), b.size(), b.size(), &v), DecodeResult::kBad);
}

TEST(RecordCodec, UnknownTypeIsBadEvenWithValidChecksum) {
  for (uint8_t t : {uint8_t{0}, uint8_t{kMaxRecordType + 1}, uint8_t{255}}) {
    auto b = encode(sample_header(), "s", "b");
    b[12] = t;
    uint32_t length;
    std::memcpy(&length, b.data() + 8, sizeof(length));
    uint64_t sum = checksum(b.data() + 8, length - 8);
    std::memcpy(b.data(), &sum, sizeof(sum));
    RecordView v;
    EXPECT_EQ(decode_record(b.data(), b.size(), b.size(), &v), DecodeResult::kBad) << int(t);
  }
}

TEST(RecordCodec, BackToBackRecords) {
  std::vector<uint8_t> buf(1024, 0);
  size_t pos = 0;
  for (int i = 0; i < 5; ++i) {
    RecordHeader h = sample_header();
    h.number = i;
    pos += encode_record(buf.data() + pos, h, "s" + std::to_string(i), std::string(i * 3, 'x'));
  }
  size_t off = 0;
  for (int i = 0; i < 5; ++i) {
    RecordView v;
    ASSERT_EQ(decode_record(buf.data() + off, buf.size() - off, buf.size() - off, &v), DecodeResult::kOk);
    EXPECT_EQ(v.header.number, static_cast<uint64_t>(i));
    EXPECT_EQ(v.name, "s" + std::to_string(i));
    EXPECT_EQ(v.body.size(), static_cast<size_t>(i * 3));
    EXPECT_EQ(off % kRecordAlignBytes, 0u);
    off += v.padded_length;
  }
  EXPECT_EQ(off, pos);
  RecordView v;
  EXPECT_EQ(decode_record(buf.data() + off, buf.size() - off, buf.size() - off, &v), DecodeResult::kEnd);
}

TEST(SegmentHeaderCodec, RoundTrip) {
  SegmentHeader h{3, 8, 268435456ull * 5, 268435456ull};
  uint8_t buf[kSegmentHeaderBytes];
  std::memset(buf, 0xCD, sizeof(buf));
  encode_segment_header(buf, h);
  EXPECT_EQ(std::memcmp(buf, "RCARSEG1", 8), 0);
  for (size_t i = 32; i < 56; ++i) EXPECT_EQ(buf[i], 0) << i;
  SegmentHeader out;
  ASSERT_EQ(decode_segment_header(buf, &out), DecodeResult::kOk);
  EXPECT_EQ(out.shard, 3);
  EXPECT_EQ(out.shard_count, 8);
  EXPECT_EQ(out.first_offset, h.first_offset);
  EXPECT_EQ(out.size_bytes, h.size_bytes);
}

TEST(SegmentHeaderCodec, ZeroHeaderMeansNeverWritten) {
  uint8_t buf[kSegmentHeaderBytes] = {};
  SegmentHeader out;
  EXPECT_EQ(decode_segment_header(buf, &out), DecodeResult::kEnd);
}

TEST(SegmentHeaderCodec, AnyFlippedByteIsBad) {
  uint8_t clean[kSegmentHeaderBytes];
  encode_segment_header(clean, SegmentHeader{1, 2, 65536, 65536});
  for (size_t i = 0; i < kSegmentHeaderBytes; ++i) {
    for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xFF}}) {
      uint8_t bad[kSegmentHeaderBytes];
      std::memcpy(bad, clean, sizeof(bad));
      bad[i] ^= mask;
      SegmentHeader out;
      EXPECT_EQ(decode_segment_header(bad, &out), DecodeResult::kBad) << "byte " << i;
    }
  }
}

TEST(SegmentHeaderCodec, WrongMagicOrVersionIsBadEvenWithValidChecksum) {
  uint8_t buf[kSegmentHeaderBytes];
  encode_segment_header(buf, SegmentHeader{0, 1, 0, 65536});
  auto reseal = [&] {
    uint64_t sum = checksum(buf, 56);
    std::memcpy(buf + 56, &sum, sizeof(sum));
  };
  SegmentHeader out;
  buf[7] = '2';
  reseal();
  EXPECT_EQ(decode_segment_header(buf, &out), DecodeResult::kBad);
  encode_segment_header(buf, SegmentHeader{0, 1, 0, 65536});
  uint32_t version = 2;
  std::memcpy(buf + 8, &version, sizeof(version));
  reseal();
  EXPECT_EQ(decode_segment_header(buf, &out), DecodeResult::kBad);
}

TEST(BodyCodec, VarintsRoundTrip) {
  const std::vector<uint64_t> values = {0,           1,           127,         128,
                                        255,         300,         16383,       16384,
                                        (1ull << 21) - 1, 1ull << 21, 0xFFFFFFFFull, 1ull << 32,
                                        (1ull << 63) - 1, 1ull << 63, std::numeric_limits<uint64_t>::max()};
  std::string out;
  BodyWriter w(&out);
  for (uint64_t v : values) w.varint(v);
  BodyReader r(out);
  for (uint64_t v : values) {
    uint64_t got = 0;
    ASSERT_TRUE(r.varint(&got)) << v;
    EXPECT_EQ(got, v);
  }
  EXPECT_TRUE(r.done());
  uint64_t extra;
  EXPECT_FALSE(r.varint(&extra));
}

TEST(BodyCodec, VarintSizes) {
  auto size_of = [](uint64_t v) {
    std::string s;
    BodyWriter(&s).varint(v);
    return s.size();
  };
  EXPECT_EQ(size_of(0), 1u);
  EXPECT_EQ(size_of(127), 1u);
  EXPECT_EQ(size_of(128), 2u);
  EXPECT_EQ(size_of(16383), 2u);
  EXPECT_EQ(size_of(16384), 3u);
  EXPECT_EQ(size_of(std::numeric_limits<uint64_t>::max()), 10u);
}

TEST(BodyCodec, StringsBytesAndMixes) {
  std::string out;
  BodyWriter w(&out);
  w.str("type");
  w.str("");
  w.byte(2);
  w.str(std::string("a\0b", 3));
  w.varint(99);
  std::string big(70000, 'q');
  w.str(big);
  BodyReader r(out);
  std::string_view s;
  uint8_t b;
  uint64_t v;
  ASSERT_TRUE(r.str(&s));
  EXPECT_EQ(s, "type");
  ASSERT_TRUE(r.str(&s));
  EXPECT_TRUE(s.empty());
  ASSERT_TRUE(r.byte(&b));
  EXPECT_EQ(b, 2);
  ASSERT_TRUE(r.str(&s));
  EXPECT_EQ(s, std::string_view("a\0b", 3));
  ASSERT_TRUE(r.varint(&v));
  EXPECT_EQ(v, 99u);
  ASSERT_TRUE(r.str(&s));
  EXPECT_EQ(s, big);
  EXPECT_TRUE(r.done());
  EXPECT_FALSE(r.byte(&b));
  EXPECT_FALSE(r.str(&s));
}

TEST(BodyCodec, MalformedVarints) {
  uint64_t v;
  {
    BodyReader r("");
    EXPECT_FALSE(r.varint(&v));
  }
  {
    // Continuation bit on the last byte: the varint runs off the end.
    std::string s("\x80\x80", 2);
    BodyReader r(s);
    EXPECT_FALSE(r.varint(&v));
  }
  {
    // Eleven bytes: longer than any 64-bit value.
    std::string s(10, '\x80');
    s.push_back('\x01');
    BodyReader r(s);
    EXPECT_FALSE(r.varint(&v));
  }
  {
    // Ten bytes whose last carries bits past the 64th: the value does not
    // fit and must not wrap around.
    std::string s(9, '\xff');
    s.push_back('\x7f');
    BodyReader r(s);
    EXPECT_FALSE(r.varint(&v));
    std::string ok(9, '\xff');
    ok.push_back('\x01');
    BodyReader r2(ok);
    ASSERT_TRUE(r2.varint(&v));
    EXPECT_EQ(v, std::numeric_limits<uint64_t>::max());
  }
}

TEST(BodyCodec, MalformedStrings) {
  std::string_view s;
  {
    // Length says 5, only 3 bytes follow.
    std::string in("\x05" "abc", 4);
    BodyReader r(in);
    EXPECT_FALSE(r.str(&s));
  }
  {
    // A huge length must not overflow the bounds check.
    std::string in;
    BodyWriter(&in).varint(std::numeric_limits<uint64_t>::max());
    in += "abc";
    BodyReader r(in);
    EXPECT_FALSE(r.str(&s));
  }
  {
    // Length varint itself cut short.
    std::string in("\x80", 1);
    BodyReader r(in);
    EXPECT_FALSE(r.str(&s));
  }
  {
    // Exactly enough bytes is fine, one more length is not.
    std::string in;
    BodyWriter w(&in);
    w.str("xyz");
    BodyReader r(in);
    ASSERT_TRUE(r.str(&s));
    EXPECT_EQ(s, "xyz");
    EXPECT_TRUE(r.done());
  }
}

}  // namespace
}  // namespace redcar::log
