#include "engine/shard/idempotency_window.h"

#include "engine/common/assert.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include "engine/common/status.h"

namespace redcar::shard {

namespace {
constexpr size_t kFirstRingEntries = 16;
constexpr size_t kFirstBytes = 512;
constexpr uint32_t kDeadBit = 1u << 31;  // in Entry::id_len

bool is_power_of_two(size_t n) { return n != 0 && (n & (n - 1)) == 0; }
}  // namespace

IdempotencyWindow::IdempotencyWindow(size_t capacity) : capacity_(capacity) {
  REDCAR_CHECK(is_power_of_two(capacity) && capacity < 65536);
}

uint64_t IdempotencyWindow::hash_of(std::string_view id) { return XXH3_64bits(id.data(), id.size()); }

bool IdempotencyWindow::same_id(const Entry& e, std::string_view id) const {
  if ((e.id_len & ~kDeadBit) != id.size()) return false;
  const size_t mask = bytes_.size() - 1;
  const size_t at = e.id_pos & mask;
  const size_t first = std::min(id.size(), bytes_.size() - at);
  return std::memcmp(bytes_.data() + at, id.data(), first) == 0 &&
         std::memcmp(bytes_.data(), id.data() + first, id.size() - first) == 0;
}

size_t IdempotencyWindow::find_slot(uint64_t hash, std::string_view id) const {
  if (table_.empty()) return SIZE_MAX;
  const size_t mask = table_.size() - 1;
  for (size_t s = home(hash); table_[s] != kEmpty; s = (s + 1) & mask) {
    const Entry& e = ring_[table_[s] - 1];
    if (e.hash == hash && same_id(e, id)) return s;
  }
  return SIZE_MAX;
}

size_t IdempotencyWindow::slot_of(uint64_t hash, size_t ring_index) const {
  const size_t mask = table_.size() - 1;
  size_t s = home(hash);
  while (table_[s] != ring_index + 1) {
    REDCAR_DCHECK(table_[s] != kEmpty);
    s = (s + 1) & mask;
  }
  return s;
}

void IdempotencyWindow::erase_slot(size_t slot) {
  // Backward-shift deletion: entries after the hole that may live in it move
  // up, so that no probe sequence is broken.
  const size_t mask = table_.size() - 1;
  size_t hole = slot;
  table_[hole] = kEmpty;
  for (size_t j = (hole + 1) & mask; table_[j] != kEmpty; j = (j + 1) & mask) {
    const size_t k = home(ring_[table_[j] - 1].hash);
    const bool stays = hole <= j ? (hole < k && k <= j) : (hole < k || k <= j);
    if (stays) continue;
    table_[hole] = table_[j];
    table_[j] = kEmpty;
    hole = j;
  }
}

std::optional<uint64_t> IdempotencyWindow::find(std::string_view id) const {
  size_t s = find_slot(hash_of(id), id);
  if (s == SIZE_MAX) return std::nullopt;
  return ring_[table_[s] - 1].number;
}

void IdempotencyWindow::evict_oldest() {
  Entry& e = ring_[head_];
  if (!(e.id_len & kDeadBit)) {
    erase_slot(slot_of(e.hash, head_));
    --live_;
  }
  bytes_head_ += e.id_len & ~kDeadBit;
  head_ = (head_ + 1) & (ring_.size() - 1);
  --count_;
}

void IdempotencyWindow::grow_ring() {
  const size_t size = ring_.empty() ? std::min(kFirstRingEntries, capacity_) : ring_.size() * 2;
  std::vector<Entry> ring(size);
  const size_t old_mask = ring_.empty() ? 0 : ring_.size() - 1;
  for (size_t i = 0; i < count_; ++i) ring[i] = ring_[(head_ + i) & old_mask];
  ring_ = std::move(ring);
  head_ = 0;
  table_.assign(2 * size, kEmpty);
  const size_t mask = table_.size() - 1;
  for (size_t i = 0; i < count_; ++i) {
    if (ring_[i].id_len & kDeadBit) continue;
    size_t s = home(ring_[i].hash);
    while (table_[s] != kEmpty) s = (s + 1) & mask;
    table_[s] = static_cast<uint16_t>(i + 1);
  }
}

void IdempotencyWindow::grow_bytes(size_t need) {
  const size_t used = bytes_tail_ - bytes_head_;
  size_t size = bytes_.empty() ? kFirstBytes : bytes_.size() * 2;
  while (size < used + need) size *= 2;
  REDCAR_CHECK(size <= (size_t{1} << 31));
  std::vector<char> bytes(size);
  const size_t old_mask = bytes_.empty() ? 0 : bytes_.size() - 1;
  const size_t mask = size - 1;
  // Positions are logical: each byte keeps its position, modulo the new size.
  for (uint32_t p = bytes_head_; p != bytes_tail_; ++p) bytes[p & mask] = bytes_[p & old_mask];
  bytes_ = std::move(bytes);
}

void IdempotencyWindow::insert(std::string_view id, uint64_t number) {
  const uint64_t hash = hash_of(id);
  if (size_t s = find_slot(hash, id); s != SIZE_MAX) {
    // The same id again: the older entry stays in the ring until it is
    // evicted (its bytes with it), but no lookup finds it.
    ring_[table_[s] - 1].id_len |= kDeadBit;
    erase_slot(s);
    --live_;
  }
  if (count_ == capacity_) {
    evict_oldest();
  } else if (count_ == ring_.size()) {
    grow_ring();
  }
  REDCAR_CHECK(id.size() < kDeadBit);
  const size_t used = bytes_tail_ - bytes_head_;
  if (bytes_.size() - used < id.size() || bytes_.empty()) grow_bytes(id.size());
  const size_t mask = bytes_.size() - 1;
  const size_t at = bytes_tail_ & mask;
  const size_t first = std::min(id.size(), bytes_.size() - at);
  std::memcpy(bytes_.data() + at, id.data(), first);
  std::memcpy(bytes_.data(), id.data() + first, id.size() - first);

  const size_t r = (head_ + count_) & (ring_.size() - 1);
  ring_[r] = Entry{hash, number, bytes_tail_, static_cast<uint32_t>(id.size())};
  bytes_tail_ += static_cast<uint32_t>(id.size());
  ++count_;
  const size_t tmask = table_.size() - 1;
  size_t s = home(hash);
  while (table_[s] != kEmpty) s = (s + 1) & tmask;
  table_[s] = static_cast<uint16_t>(r + 1);
  ++live_;
}

void IdempotencyWindow::clear() {
  ring_ = {};
  table_ = {};
  bytes_ = {};
  head_ = count_ = live_ = 0;
  bytes_head_ = bytes_tail_ = 0;
}

size_t IdempotencyWindow::memory_bytes() const {
  return ring_.capacity() * sizeof(Entry) + table_.capacity() * sizeof(uint16_t) + bytes_.capacity();
}

}  // namespace redcar::shard
