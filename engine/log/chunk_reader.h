// Reads one segment front to back for recovery, in chunks, with the next
// chunks read ahead on helper threads while the caller checks the current
// one: the disk and the checksums run side by side. A window that straddles
// two chunks (a batch across a chunk boundary) is copied whole into a
// buffer of its own. Used by one thread (the one recovering the shard).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <future>
#include <string>
#include <vector>

#include "engine/io/aligned_buffer.h"
#include "engine/io/disk.h"

namespace redcar::log {

class ChunkReader {
 public:
  ChunkReader(io::File& file, uint64_t segment_bytes, size_t chunk_bytes)
      : file_(file), segment_bytes_(segment_bytes), chunk_bytes_(io::align_up(chunk_bytes)) {}
  ~ChunkReader() { drop_ahead(); }
  ChunkReader(const ChunkReader&) = delete;
  ChunkReader& operator=(const ChunkReader&) = delete;

  // Makes [offset, offset + len) available; returns a pointer to it, or
  // nullptr with *err set (or *err == 0 when the segment ends first). The
  // pointer is good until the next call.
  const uint8_t* window(uint64_t offset, size_t len, int* err);
  uint64_t bytes_read() const { return bytes_read_; }
  const std::string& path() const { return file_.path(); }

 private:
  struct Chunk {
    io::AlignedBuffer buf;
    uint64_t base = 0;  // file offset of buf[head]
    size_t have = 0;
    size_t head = 0;
    uint64_t end() const { return base + have; }
    bool holds(uint64_t offset, size_t len) const { return offset >= base && offset + len <= base + have; }
    const uint8_t* at(uint64_t offset) const { return buf.data() + head + (offset - base); }
  };
  struct Ahead {
    Chunk chunk;  // base set, have once read
    size_t len = 0;
    std::future<int> result;
    bool ready = false;
    int n = 0;
  };

  // Joins the two parts of a window across the current chunk's end.
  const uint8_t* straddle(uint64_t offset, size_t len, int* err);
  // Reads the block holding `offset` synchronously, chunk-sized or more.
  const uint8_t* read_at(uint64_t offset, size_t len, int* err);
  bool wait(Ahead& a, int* err);
  // The first chunk read ahead becomes the current one.
  bool advance(int* err);
  void top_up();
  // Waits for reads ahead that are no longer wanted.
  void drop_ahead();

  io::File& file_;
  uint64_t segment_bytes_;
  size_t chunk_bytes_;
  Chunk cur_;
  Chunk straddle_;
  std::deque<Ahead> ahead_;
  std::vector<io::AlignedBuffer> spare_;
  bool eof_ = false;
  uint64_t bytes_read_ = 0;
};

}  // namespace redcar::log
