#include "engine/log/chunk_reader.h"

#include <algorithm>
#include <cstring>

#include "engine/common/limits.h"

namespace redcar::log {

const uint8_t* ChunkReader::window(uint64_t offset, size_t len, int* err) {
  *err = 0;
  if (offset + len > segment_bytes_) len = segment_bytes_ - offset;
  if (cur_.holds(offset, len)) return cur_.at(offset);
  if (straddle_.holds(offset, len)) return straddle_.at(offset);
  // Moving on: the chunks read ahead become current once the window starts
  // in them.
  while (!ahead_.empty() && offset >= ahead_.front().chunk.base) {
    if (!advance(err)) return nullptr;
    if (cur_.holds(offset, len)) return cur_.at(offset);
  }
  if (offset >= cur_.base && offset < cur_.end() && !ahead_.empty() &&
      offset + len <= ahead_.front().chunk.base + ahead_.front().len) {
    const uint8_t* p = straddle(offset, len, err);
    if (p || *err) return p;
  }
  // Anywhere else (the first read, a jump back, a window larger than a
  // chunk): read synchronously from the block holding `offset`.
  return read_at(offset, len, err);
}

const uint8_t* ChunkReader::straddle(uint64_t offset, size_t len, int* err) {
  Ahead& next = ahead_.front();
  if (!wait(next, err)) return nullptr;
  if (offset + len > next.chunk.end()) return nullptr;
  size_t first = static_cast<size_t>(cur_.end() - offset);
  straddle_.buf.reserve(len);
  std::memcpy(straddle_.buf.data(), cur_.at(offset), first);
  std::memcpy(straddle_.buf.data() + first, next.chunk.buf.data(), len - first);
  straddle_.base = offset;
  straddle_.have = len;
  straddle_.head = 0;
  return straddle_.buf.data();
}

const uint8_t* ChunkReader::read_at(uint64_t offset, size_t len, int* err) {
  drop_ahead();
  uint64_t start = io::align_down(offset);
  size_t want = io::align_up(std::max<size_t>(offset + len - start, chunk_bytes_));
  if (start + want > segment_bytes_) want = io::align_up(segment_bytes_ - start);
  cur_.buf.reserve(want);
  int n = file_.read_sync(start, cur_.buf.data(), want);
  if (n < 0) {
    *err = n;
    return nullptr;
  }
  cur_.base = start;
  cur_.have = static_cast<size_t>(n);
  cur_.head = 0;
  bytes_read_ += static_cast<uint64_t>(n);
  eof_ = static_cast<size_t>(n) < want;
  top_up();
  if (!cur_.holds(offset, len)) return nullptr;
  return cur_.at(offset);
}

bool ChunkReader::wait(Ahead& a, int* err) {
  if (!a.ready) {
    a.n = a.result.get();
    a.ready = true;
    if (a.n >= 0) {
      a.chunk.have = static_cast<size_t>(a.n);
      bytes_read_ += static_cast<uint64_t>(a.n);
    }
  }
  if (a.n < 0) *err = a.n;
  return a.n >= 0;
}

bool ChunkReader::advance(int* err) {
  Ahead& a = ahead_.front();
  if (!wait(a, err)) return false;
  spare_.push_back(std::move(cur_.buf));
  cur_ = std::move(a.chunk);
  bool short_read = static_cast<size_t>(a.n) < a.len;
  ahead_.pop_front();
  if (short_read) {
    eof_ = true;
    drop_ahead();
  }
  top_up();
  return true;
}

void ChunkReader::top_up() {
  uint64_t next = ahead_.empty() ? cur_.end() : ahead_.back().chunk.base + ahead_.back().len;
  while (!eof_ && ahead_.size() < limits::kRecoveryReadsAhead && next < segment_bytes_) {
    Ahead a;
    a.len = static_cast<size_t>(std::min<uint64_t>(chunk_bytes_, segment_bytes_ - next));
    if (!spare_.empty()) {
      a.chunk.buf = std::move(spare_.back());
      spare_.pop_back();
    }
    a.chunk.buf.reserve(a.len);
    a.chunk.base = next;
    uint8_t* dst = a.chunk.buf.data();
    io::File* file = &file_;
    size_t len = a.len;
    a.result = std::async(std::launch::async, [file, dst, next, len] { return file->read_sync(next, dst, len); });
    next += a.len;
    ahead_.push_back(std::move(a));
  }
}

void ChunkReader::drop_ahead() {
  for (auto& a : ahead_) {
    if (!a.ready) a.result.wait();
    spare_.push_back(std::move(a.chunk.buf));
  }
  ahead_.clear();
}

}  // namespace redcar::log
