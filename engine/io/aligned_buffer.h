// A heap buffer whose address and capacity are multiples of the block size,
// as O_DIRECT requires. Owns its memory; move-only.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "engine/common/limits.h"

namespace redcar::io {

inline constexpr uint64_t align_down(uint64_t v, uint64_t a = limits::kBlockBytes) { return v - v % a; }
inline constexpr uint64_t align_up(uint64_t v, uint64_t a = limits::kBlockBytes) { return align_down(v + a - 1, a); }

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t capacity_bytes) { reserve(capacity_bytes); }
  ~AlignedBuffer() { std::free(data_); }
  AlignedBuffer(AlignedBuffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), capacity_(std::exchange(o.capacity_, 0)) {}
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    if (this != &o) {
      std::free(data_);
      data_ = std::exchange(o.data_, nullptr);
      capacity_ = std::exchange(o.capacity_, 0);
    }
    return *this;
  }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  // Grows (never shrinks) to hold at least `bytes`, keeping the contents.
  void reserve(size_t bytes) {
    if (bytes <= capacity_) return;
    size_t cap = align_up(bytes);
    void* p = std::aligned_alloc(limits::kBlockBytes, cap);
    if (!p) throw std::bad_alloc();
    if (data_) {
      std::memcpy(p, data_, capacity_);
      std::free(data_);
    }
    data_ = static_cast<uint8_t*>(p);
    capacity_ = cap;
  }

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t capacity() const { return capacity_; }

 private:
  uint8_t* data_ = nullptr;
  size_t capacity_ = 0;
};

}  // namespace redcar::io
