// The building blocks of record bodies (engine/FORMAT.md, "Types and
// bodies"): LEB128 varints and length-prefixed strings, written into a
// string or into memory sized beforehand, and read back with every read
// checked against the bounds. Below the log so that a view of an event
// (event_view.h) can walk a body where it lies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace redcar {

inline size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
inline size_t str_size(std::string_view s) { return varint_size(s.size()) + s.size(); }

// Writes into memory the caller has sized (with varint_size/str_size).
class RawBodyWriter {
 public:
  explicit RawBodyWriter(uint8_t* out) : p_(out) {}
  void varint(uint64_t v) {
    while (v >= 0x80) {
      *p_++ = static_cast<uint8_t>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<uint8_t>(v);
  }
  void str(std::string_view s) {
    varint(s.size());
    if (!s.empty()) std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  uint8_t* end() const { return p_; }

 private:
  uint8_t* p_;
};

class BodyWriter {
 public:
  explicit BodyWriter(std::string* out) : out_(out) {}
  void varint(uint64_t v);
  void str(std::string_view s);
  void byte(uint8_t b) { out_->push_back(static_cast<char>(b)); }

 private:
  std::string* out_;
};

// Reads what BodyWriter wrote; every read checks the bounds. Inline: it
// runs for every event a scan or recovery looks into.
class BodyReader {
 public:
  explicit BodyReader(std::string_view in) : in_(in) {}
  bool varint(uint64_t* v) {
    if (pos_ < in_.size() && !(static_cast<uint8_t>(in_[pos_]) & 0x80)) {
      *v = static_cast<uint8_t>(in_[pos_++]);  // one byte: most lengths and counts
      return true;
    }
    return varint_slow(v);
  }
  bool str(std::string_view* s) {
    uint64_t n;
    if (!varint(&n) || n > in_.size() - pos_) return false;
    *s = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool byte(uint8_t* b) {
    if (pos_ >= in_.size()) return false;
    *b = static_cast<uint8_t>(in_[pos_++]);
    return true;
  }
  bool done() const { return pos_ == in_.size(); }
  size_t position() const { return pos_; }

 private:
  bool varint_slow(uint64_t* v);
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace redcar
