// The events of the crash test: names of its streams, and the content of
// each event as a pure function of (seed, stream, number), so that the
// parent can say whether an event it reads back is exactly the one the
// child wrote, without the child ever telling it the bytes.
//
// An event's data is a 24-byte header followed by a payload:
//
//   offset 0   u32  stream index
//   offset 4   u64  event number
//   offset 12  u32  payload length, 1..kMaxPayloadBytes
//   offset 16  u64  xxh3-64 of the payload
//   offset 24  payload bytes
//
// The header makes a wrong event diagnosable (whose data is this? is it
// damaged?), the generator makes it checkable byte for byte.
#pragma once

#include <xxhash.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

namespace redcar::crash {

inline constexpr uint32_t kMaxPayloadBytes = 4000;
inline constexpr size_t kHeaderBytes = 24;
inline constexpr const char* kEventType = "crash";
inline constexpr const char* kStreamPrefix = "crash-";

inline std::string stream_name(unsigned stream) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%s%03u", kStreamPrefix, stream);
  return buf;
}

// Parses a name made by stream_name; false for any other name.
inline bool parse_stream_name(std::string_view name, unsigned* stream) {
  std::string_view prefix = kStreamPrefix;
  if (name.size() != prefix.size() + 3 || name.substr(0, prefix.size()) != prefix) return false;
  unsigned v = 0;
  for (char c : name.substr(prefix.size())) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  *stream = v;
  return true;
}

inline uint64_t splitmix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

namespace detail {
inline void put_u32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline void put_u64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}
inline uint64_t get_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}
}  // namespace detail

// The data of event `number` of stream `stream` in a run seeded with `seed`.
inline std::string event_data(uint64_t seed, unsigned stream, uint64_t number) {
  uint64_t state = seed;
  state = splitmix64(&state) ^ (static_cast<uint64_t>(stream) * 0xd1b54a32d192ed03ull);
  state = splitmix64(&state) ^ (number * 0x8cb92ba72f3d8dd7ull);
  splitmix64(&state);
  uint32_t payload_bytes = 1 + static_cast<uint32_t>(splitmix64(&state) % kMaxPayloadBytes);
  std::string data(kHeaderBytes + payload_bytes, '\0');
  char* payload = data.data() + kHeaderBytes;
  for (uint32_t i = 0; i < payload_bytes; i += 8) {
    uint64_t word = splitmix64(&state);
    std::memcpy(payload + i, &word, std::min<uint32_t>(8, payload_bytes - i));
  }
  detail::put_u32(data.data(), stream);
  detail::put_u64(data.data() + 4, number);
  detail::put_u32(data.data() + 12, payload_bytes);
  detail::put_u64(data.data() + 16, XXH3_64bits(payload, payload_bytes));
  return data;
}

// What a (possibly wrong) event's data says about itself, for messages.
inline std::string describe(std::string_view data) {
  if (data.size() < kHeaderBytes) return "short data (" + std::to_string(data.size()) + " bytes, no header)";
  unsigned stream = detail::get_u32(data.data());
  uint64_t number = detail::get_u64(data.data() + 4);
  uint32_t payload_bytes = detail::get_u32(data.data() + 12);
  uint64_t sum = detail::get_u64(data.data() + 16);
  size_t have = data.size() - kHeaderBytes;
  bool sum_ok = have == payload_bytes && XXH3_64bits(data.data() + kHeaderBytes, have) == sum;
  char buf[200];
  std::snprintf(buf, sizeof(buf), "header says stream %u number %llu payload %u bytes (have %zu), checksum %s",
                stream, static_cast<unsigned long long>(number), payload_bytes, have, sum_ok ? "ok" : "BAD");
  return buf;
}

}  // namespace redcar::crash
