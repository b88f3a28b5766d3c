// A small LRU cache of blocks read back from segment files, so that the
// same cold range read again (the head of a stream, a catch-up reader
// behind another) does not go to the disk each time. Only fully durable
// blocks are cached: their bytes never change. Used by one shard's thread.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <unordered_map>

#include "engine/io/aligned_buffer.h"

namespace redcar::log {

class BlockCache {
 public:
  struct Block {
    std::shared_ptr<const io::AlignedBuffer> buf;
    size_t bytes = 0;  // valid bytes in buf
  };

  explicit BlockCache(size_t capacity_bytes) : capacity_bytes_(capacity_bytes) {}

  // The block that starts at log offset `key`, or an empty Block.
  Block get(uint64_t key) {
    auto it = index_.find(key);
    if (it == index_.end()) return {};
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->block;
  }

  void put(uint64_t key, Block block) {
    if (capacity_bytes_ == 0 || index_.count(key)) return;
    bytes_ += block.buf->capacity();
    lru_.push_front({key, std::move(block)});
    index_[key] = lru_.begin();
    while (bytes_ > capacity_bytes_ && !lru_.empty()) {
      bytes_ -= lru_.back().block.buf->capacity();
      index_.erase(lru_.back().key);
      lru_.pop_back();
    }
  }

  bool contains(uint64_t key) const { return index_.count(key) != 0; }

  // Forgets every block in [from, to): their segment is gone.
  void drop(uint64_t from, uint64_t to) {
    for (auto it = lru_.begin(); it != lru_.end();) {
      if (it->key >= from && it->key < to) {
        bytes_ -= it->block.buf->capacity();
        index_.erase(it->key);
        it = lru_.erase(it);
      } else {
        ++it;
      }
    }
  }

  size_t bytes() const { return bytes_; }

 private:
  struct Entry {
    uint64_t key;
    Block block;
  };
  size_t capacity_bytes_;
  size_t bytes_ = 0;
  std::list<Entry> lru_;
  std::unordered_map<uint64_t, std::list<Entry>::iterator> index_;
};

}  // namespace redcar::log
