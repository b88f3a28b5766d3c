// What the RESP front end counts of the commands it runs: per command the
// calls, the time they took, how many failed (answered an error) or were
// rejected (refused before running: arity, authentication, context), and a
// latency histogram; errors by their first word; bytes in and out. INFO's
// commandstats, errorstats, latencystats and stats sections and LATENCY
// HISTOGRAM read them.
//
// Each thread that runs commands counts in a block of its own, so that
// accounting for a command is a few plain stores: no lock, no atomic
// read-modify-write, no cache line shared with another core. A report sums
// the blocks with relaxed loads (each figure exact, not all taken at one
// instant). RESETSTAT does not touch the blocks, whose counters belong to
// their threads: it takes the current sums as the new zero. Errors are rare
// next to commands and are counted by prefix under a mutex.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace redcar::resp {

// Latency buckets, in microseconds: exact below 4, then four per power of
// two (a bucket's width is at most a quarter of its lower edge, so a
// percentile read from it is within 25%), up to 2^32 us.
inline constexpr size_t kLatencyBuckets = 4 + 31 * 4;
size_t latency_bucket(uint64_t usec);
// The largest latency that falls in bucket `b`.
uint64_t latency_bucket_top(size_t b);
// The power of two LATENCY HISTOGRAM files bucket `b` under: the smallest
// at or above every latency the bucket holds (1 at least).
uint64_t latency_power_edge(size_t b);

class CommandStats {
 public:
  struct Figures {
    uint64_t calls = 0;
    uint64_t usec = 0;
    uint64_t failed = 0;
    uint64_t rejected = 0;
    std::array<uint64_t, kLatencyBuckets> histogram{};
    // The latency under which `p` percent of the calls fell (0 if none).
    double percentile(double p) const;
  };

  // For a table of `commands` commands (indices 0..commands-1).
  explicit CommandStats(size_t commands);
  ~CommandStats();
  CommandStats(const CommandStats&) = delete;
  CommandStats& operator=(const CommandStats&) = delete;

  // A command ran and answered in `usec`; `failed`: with an error.
  void ran(size_t command, uint64_t usec, bool failed);
  void rejected(size_t command);
  // An error reply went out: counted by its first word ("ERR", "WRONGTYPE").
  void error(std::string_view reply_text);
  // Totals kept besides the commands'.
  enum Total : size_t { kBytesIn, kBytesOut, kHits, kMisses, kTotals };
  void bytes_in(uint64_t n) { add(local().totals[kBytesIn], n); }
  void bytes_out(uint64_t n) { add(local().totals[kBytesOut], n); }
  // A read of a key found it (keyspace_hits) or not (keyspace_misses).
  void lookup(bool hit) { add(local().totals[hit ? kHits : kMisses], 1); }
  uint64_t total(Total which) const;

  Figures command(size_t command) const;
  uint64_t total_calls() const;
  uint64_t total_errors() const;
  // Error prefixes and their counts, by prefix.
  std::map<std::string, uint64_t> errors() const;
  // CONFIG RESETSTAT: what is counted from now on starts from zero.
  void reset();

 private:
  using Counter = std::atomic<uint64_t>;
  struct PerCommand {
    Counter calls{0}, usec{0}, failed{0}, rejected{0};
    std::array<Counter, kLatencyBuckets> histogram{};
  };
  struct Block {
    explicit Block(size_t commands) : commands(commands) {}
    std::vector<PerCommand> commands;
    std::array<Counter, kTotals> totals{};
  };
  // Only the block's own thread writes, so a load and a store suffice.
  static void add(Counter& c, uint64_t n) { c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  static uint64_t get(const Counter& c) { return c.load(std::memory_order_relaxed); }
  Block& local();
  Figures sum(size_t command) const;
  uint64_t sum_total(Total which) const;

  const size_t commands_;
  const uint64_t serial_;  // tells this instance from one at the same address later
  mutable std::mutex mu_;  // blocks_ (the list, not the counters), errors_, the zeros
  std::map<std::thread::id, std::unique_ptr<Block>> blocks_;
  std::map<std::string, uint64_t, std::less<>> errors_;
  // What reset() took as zero.
  std::vector<Figures> zero_;
  std::array<uint64_t, kTotals> zero_totals_{};
};

}  // namespace redcar::resp
