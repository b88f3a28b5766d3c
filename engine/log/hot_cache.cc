#include "engine/log/hot_cache.h"

#include <algorithm>
#include <cstring>
#include <iterator>

#include "engine/common/assert.h"

namespace redcar::log {

void HotCache::insert(uint64_t seg_first, uint64_t file_base, size_t begin, size_t end, io::AlignedBuffer buf) {
  if (capacity_bytes_ == 0) return recycle(std::move(buf));
  REDCAR_DCHECK(chunks_.empty() || chunks_.back().log_base() + chunks_.back().end <= seg_first + file_base + begin);
  // Group commit under light load makes many small batches in large
  // buffers: keep a right-sized copy and reuse the large buffer.
  size_t keep = io::align_up(end);
  if (keep * 2 < buf.capacity()) {
    io::AlignedBuffer small(keep);
    std::memcpy(small.data(), buf.data(), end);
    recycle(std::exchange(buf, std::move(small)));
  }
  bytes_ += buf.capacity();
  chunks_.push_back({seg_first, file_base, begin, end, std::move(buf)});
  while (bytes_ > capacity_bytes_ && chunks_.size() > 1) {
    bytes_ -= chunks_.front().buf.capacity();
    recycle(std::move(chunks_.front().buf));
    chunks_.pop_front();
  }
}

HotCache::Walk HotCache::walk(uint64_t* from, const RecordVisitor& visit) const {
  // The first chunk that ends past `from`; `from` must lie in it (at its
  // batch record at the earliest), or the record is older than the cache.
  auto it = std::upper_bound(chunks_.begin(), chunks_.end(), *from,
                             [](uint64_t v, const Chunk& c) { return v < c.log_base() + c.end; });
  if (it == chunks_.end() || *from < it->log_base() + it->begin - kRecordHeaderBytes) return Walk::kMiss;
  for (; it != chunks_.end(); ++it) {
    uint64_t base = it->log_base();
    size_t off = *from > base + it->begin ? *from - base : it->begin;
    while (off < it->end) {
      RecordView rec;
      // Records this process encoded: their checksums need no check.
      DecodeResult d = decode_record(it->buf.data() + off, it->end - off, it->end - off, &rec, Verify::kBoundsOnly);
      REDCAR_CHECK(d == DecodeResult::kOk);
      if (!visit(rec, base + off)) {
        *from = base + off;
        return Walk::kStopped;
      }
      off += rec.padded_length;
    }
    *from = base + it->end;
    // The next chunk starts with its batch record; skip it.
    auto nx = std::next(it);
    if (nx != chunks_.end()) *from = nx->log_base() + nx->begin;
  }
  return Walk::kEnd;
}

io::AlignedBuffer HotCache::take_spare() {
  if (spares_.empty()) return {};
  io::AlignedBuffer b = std::move(spares_.back());
  spares_.pop_back();
  return b;
}

void HotCache::recycle(io::AlignedBuffer buf) {
  if (spares_.size() < kSpareBuffers && buf.capacity() > 0) spares_.push_back(std::move(buf));
}

}  // namespace redcar::log
