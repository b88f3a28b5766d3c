// Receive buffers handed to the kernel ahead of need (io_uring provided
// buffers): a multishot receive picks one per completion, so that no
// connection holds a buffer while it waits for data. A buffer goes back to
// the ring once its bytes are consumed. One ring per reactor, shared by all
// its connections; used from the reactor's thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "runtime/reactor.h"

namespace redcar::runtime {

class BufferRing {
 public:
  // Registers `count` (a power of two) buffers of `size` bytes as group
  // `group` of `reactor`'s ring. On the reactor's thread; -errno on failure.
  static int create(Reactor& reactor, uint16_t group, unsigned count, unsigned size, std::unique_ptr<BufferRing>* out);
  ~BufferRing();
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

  uint16_t group() const { return group_; }
  // The `len` bytes a completion delivered in buffer `id`.
  std::span<const uint8_t> bytes(uint16_t id, size_t len) const { return {data_.get() + size_t(id) * size_, len}; }
  // Gives buffer `id` back to the kernel.
  void recycle(uint16_t id);

 private:
  BufferRing(Reactor& reactor, uint16_t group, unsigned count, unsigned size);

  Reactor& reactor_;
  uint16_t group_;
  unsigned count_;
  unsigned size_;
  io_uring_buf_ring* ring_ = nullptr;  // page-aligned, `count_` entries
  std::unique_ptr<uint8_t[]> data_;
  bool registered_ = false;
};

}  // namespace redcar::runtime
