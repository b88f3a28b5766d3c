// The idempotency ids of one stream's most recent events, each with its
// event number, so that a retried append is recognised and answered with
// the numbers the original got. It remembers the last `capacity` ids
// (limits::kIdempotencyWindow); an older one is forgotten.
//
// Memory is a few flat arrays that grow to the window's size and then stay:
// no allocation per id. Entries sit in a ring in arrival order (64-bit hash
// of the id, event number, where its bytes are); an open-addressing table
// finds them by hash; the ids' bytes sit in a ring of their own. A lookup
// compares the full id wherever the hashes match, so two ids with the same
// hash cost a comparison, never a wrong answer: an append is taken for a
// retry only when its id is byte for byte one already written.
//
// Used by one shard's thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "engine/common/limits.h"

namespace redcar::shard {

class IdempotencyWindow {
 public:
  // `capacity`: ids remembered, a power of two below 65536.
  explicit IdempotencyWindow(size_t capacity = limits::kIdempotencyWindow);

  // The event number remembered for `id`, if it is in the window.
  std::optional<uint64_t> find(std::string_view id) const;
  // Remembers `id` as event `number` (the newest), forgetting the oldest id
  // when the window is full. An id already there takes the new number.
  void insert(std::string_view id, uint64_t number);
  void clear();

  size_t size() const { return live_; }
  size_t capacity() const { return capacity_; }
  // Heap bytes held, for the memory figures.
  size_t memory_bytes() const;

 private:
  struct Entry {
    uint64_t hash;
    uint64_t number;
    uint32_t id_pos;  // logical position in bytes_ (wraps modulo 2^32)
    uint32_t id_len;  // top bit: replaced by a later insert of the same id
  };
  static constexpr uint16_t kEmpty = 0;  // table slots hold ring index + 1

  static uint64_t hash_of(std::string_view id);
  size_t home(uint64_t hash) const { return static_cast<size_t>(hash) & (table_.size() - 1); }
  bool same_id(const Entry& e, std::string_view id) const;
  // The table slot that points at ring index `ring_index`.
  size_t slot_of(uint64_t hash, size_t ring_index) const;
  // Probes for `id`: the table slot of its entry, or SIZE_MAX.
  size_t find_slot(uint64_t hash, std::string_view id) const;
  void erase_slot(size_t slot);
  void evict_oldest();
  void grow_ring();
  void grow_bytes(size_t need);

  size_t capacity_;
  std::vector<Entry> ring_;     // size a power of two; entries [head_, head_ + count_) (mod size)
  size_t head_ = 0;
  size_t count_ = 0;            // entries in the ring, dead ones included
  size_t live_ = 0;             // entries in the table
  std::vector<uint16_t> table_;  // twice the ring's size: at most half full
  std::vector<char> bytes_;     // size a power of two
  uint32_t bytes_head_ = 0;     // logical position of the oldest entry's bytes
  uint32_t bytes_tail_ = 0;     // where the next id's bytes go
};

}  // namespace redcar::shard
