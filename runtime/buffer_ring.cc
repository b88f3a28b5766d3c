#include "runtime/buffer_ring.h"

#include <cerrno>
#include <cstdlib>

namespace redcar::runtime {

BufferRing::BufferRing(Reactor& reactor, uint16_t group, unsigned count, unsigned size)
    : reactor_(reactor), group_(group), count_(count), size_(size) {}

int BufferRing::create(Reactor& reactor, uint16_t group, unsigned count, unsigned size,
                       std::unique_ptr<BufferRing>* out) {
  if (count == 0 || (count & (count - 1)) != 0 || count > 32768) return -EINVAL;
  std::unique_ptr<BufferRing> b(new BufferRing(reactor, group, count, size));
  void* mem = nullptr;
  if (::posix_memalign(&mem, 4096, count * sizeof(io_uring_buf)) != 0) return -ENOMEM;
  b->ring_ = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_ring_init(b->ring_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(b->ring_);
  reg.ring_entries = count;
  reg.bgid = group;
  int rc = io_uring_register_buf_ring(reactor.ring(), &reg, 0);
  if (rc < 0) return rc;
  b->registered_ = true;
  b->data_.reset(new uint8_t[size_t(count) * size]);
  for (unsigned i = 0; i < count; ++i) {
    io_uring_buf_ring_add(b->ring_, b->data_.get() + size_t(i) * size, size, static_cast<unsigned short>(i),
                          io_uring_buf_ring_mask(count), static_cast<int>(i));
  }
  io_uring_buf_ring_advance(b->ring_, static_cast<int>(count));
  *out = std::move(b);
  return 0;
}

BufferRing::~BufferRing() {
  if (registered_) io_uring_unregister_buf_ring(reactor_.ring(), group_);
  std::free(ring_);
}

void BufferRing::recycle(uint16_t id) {
  io_uring_buf_ring_add(ring_, data_.get() + size_t(id) * size_, size_, id, io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(ring_, 1);
}

}  // namespace redcar::runtime
