// The per-stream idempotency window (engine/shard/idempotency_window.h):
// every id among the last `capacity` is found with its number, older ones
// are forgotten in arrival order, a repeated id takes its new number, and
// ids whose 64-bit hashes collide are told apart by their bytes. Checked
// against a plain map-and-queue model through growth, wrap-around and
// eviction.
#include "engine/shard/idempotency_window.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <algorithm>
#include <deque>
#include <map>
#include <random>
#include <string>

namespace redcar::shard {
namespace {

TEST(IdempotencyWindow, FindsWhatItWasGiven) {
  IdempotencyWindow w(8);
  EXPECT_FALSE(w.find("a"));
  w.insert("a", 10);
  w.insert("bb", 11);
  w.insert(std::string(300, 'c'), 12);  // longer than the first byte ring
  EXPECT_EQ(w.find("a"), 10u);
  EXPECT_EQ(w.find("bb"), 11u);
  EXPECT_EQ(w.find(std::string(300, 'c')), 12u);
  EXPECT_FALSE(w.find("b"));
  EXPECT_FALSE(w.find(std::string(299, 'c')));
  EXPECT_EQ(w.size(), 3u);
}

TEST(IdempotencyWindow, ForgetsTheOldestBeyondItsCapacity) {
  IdempotencyWindow w(4);
  for (uint64_t i = 0; i < 10; ++i) w.insert("id-" + std::to_string(i), i);
  EXPECT_EQ(w.size(), 4u);
  for (uint64_t i = 0; i < 6; ++i) EXPECT_FALSE(w.find("id-" + std::to_string(i))) << i;
  for (uint64_t i = 6; i < 10; ++i) EXPECT_EQ(w.find("id-" + std::to_string(i)), i);
}

TEST(IdempotencyWindow, ARepeatedIdTakesItsNewNumber) {
  IdempotencyWindow w(4);
  w.insert("x", 1);
  w.insert("y", 2);
  w.insert("x", 3);
  EXPECT_EQ(w.find("x"), 3u);
  EXPECT_EQ(w.size(), 2u);
  // The older "x" still takes its place in the ring: three more arrivals push
  // it and "y" out, the newer "x" stays.
  w.insert("p", 4);
  w.insert("q", 5);
  EXPECT_EQ(w.find("y"), 2u);
  w.insert("r", 6);
  EXPECT_EQ(w.find("x"), 3u);
  EXPECT_FALSE(w.find("y"));
  EXPECT_EQ(w.find("p"), 4u);
  EXPECT_EQ(w.size(), 4u);
}

TEST(IdempotencyWindow, ClearForgetsEverything) {
  IdempotencyWindow w(16);
  for (uint64_t i = 0; i < 10; ++i) w.insert("id-" + std::to_string(i), i);
  w.clear();
  EXPECT_EQ(w.size(), 0u);
  EXPECT_FALSE(w.find("id-3"));
  w.insert("id-3", 30);
  EXPECT_EQ(w.find("id-3"), 30u);
}

// Ids whose hashes agree in the bits the table uses land in one probe
// sequence; found by brute force over short ids.
TEST(IdempotencyWindow, IdsInTheSameSlotAreToldApartByTheirBytes) {
  IdempotencyWindow w(64);  // table of 128 slots: the low 7 bits pick one
  std::vector<std::string> same_slot;
  for (int i = 0; same_slot.size() < 20; ++i) {
    std::string id = "k" + std::to_string(i);
    if ((XXH3_64bits(id.data(), id.size()) & 127) == 5) same_slot.push_back(id);
  }
  for (size_t i = 0; i < same_slot.size(); ++i) w.insert(same_slot[i], i);
  for (size_t i = 0; i < same_slot.size(); ++i) EXPECT_EQ(w.find(same_slot[i]), i) << same_slot[i];
  // Evicting from the middle of the probe sequence keeps the rest findable.
  for (size_t i = 0; i < 64; ++i) w.insert("filler-" + std::to_string(i), 1000 + i);
  for (const auto& id : same_slot) EXPECT_FALSE(w.find(id)) << id;
  for (size_t i = 0; i < 64; ++i) EXPECT_EQ(w.find("filler-" + std::to_string(i)), 1000 + i);
}

TEST(IdempotencyWindow, MatchesAMapAndAQueue) {
  for (size_t capacity : {size_t{1}, size_t{8}, size_t{64}, size_t{4096}}) {
    SCOPED_TRACE("capacity " + std::to_string(capacity));
    IdempotencyWindow w(capacity);
    std::map<std::string, uint64_t> model;
    std::deque<std::string> order;  // arrivals, repeated ids included
    std::map<std::string, size_t> copies;  // how often each id is in `order`
    // A full check of every id is as long as the window: checking each 7th
    // arrival of the largest window would make the test quadratic.
    const uint64_t check_every = capacity >= 1024 ? 101 : 7;
    std::mt19937_64 rng(capacity);
    const uint64_t ids = capacity * 3 + 5;
    for (uint64_t n = 0; n < capacity * 20 + 100; ++n) {
      // Ids of every length up to 80 bytes, some repeated.
      uint64_t k = rng() % ids;
      std::string id = std::to_string(k) + std::string(k % 80, static_cast<char>('a' + k % 26));
      w.insert(id, n);
      order.push_back(id);
      ++copies[id];
      model[id] = n;
      if (order.size() > capacity) {
        std::string gone = order.front();
        order.pop_front();
        // Gone only if this was its latest arrival.
        if (--copies[gone] == 0) {
          copies.erase(gone);
          model.erase(gone);
        }
      }
      if (n % check_every == 0) {
        for (uint64_t q = 0; q < ids; q += 1 + q % 5) {
          std::string probe = std::to_string(q) + std::string(q % 80, static_cast<char>('a' + q % 26));
          auto want = model.find(probe);
          auto got = w.find(probe);
          if (want == model.end()) {
            ASSERT_FALSE(got) << probe << " at " << n;
          } else {
            ASSERT_TRUE(got) << probe << " at " << n;
            ASSERT_EQ(*got, want->second) << probe << " at " << n;
          }
        }
        ASSERT_EQ(w.size(), model.size()) << n;
      }
    }
    EXPECT_GT(w.memory_bytes(), 0u);
  }
}

TEST(IdempotencyWindow, MemoryStaysBoundedOnceFull) {
  IdempotencyWindow w(256);
  for (uint64_t i = 0; i < 256; ++i) w.insert("0123456789abcdef0123456789abcdef-" + std::to_string(i), i);
  const size_t full = w.memory_bytes();
  for (uint64_t i = 256; i < 100000; ++i) w.insert("0123456789abcdef0123456789abcdef-" + std::to_string(i), i);
  EXPECT_LE(w.memory_bytes(), full * 2) << "a full window only recycles its memory";
}

}  // namespace
}  // namespace redcar::shard
