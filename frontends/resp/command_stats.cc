#include "frontends/resp/command_stats.h"

#include <bit>

namespace redcar::resp {

size_t latency_bucket(uint64_t usec) {
  if (usec < 4) return static_cast<size_t>(usec);
  unsigned e = static_cast<unsigned>(std::bit_width(usec)) - 1;  // 2^e <= usec
  if (e > 32) return kLatencyBuckets - 1;
  size_t quarter = static_cast<size_t>((usec >> (e - 2)) & 3);
  size_t b = 4 + (e - 2) * 4 + quarter;
  return b < kLatencyBuckets ? b : kLatencyBuckets - 1;
}

uint64_t latency_bucket_top(size_t b) {
  if (b < 4) return b;
  size_t e = (b - 4) / 4 + 2;
  uint64_t quarter = (b - 4) % 4;
  return (uint64_t{1} << e) + (quarter + 1) * (uint64_t{1} << (e - 2)) - 1;
}

uint64_t latency_power_edge(size_t b) {
  uint64_t top = latency_bucket_top(b);
  uint64_t edge = 1;
  while (edge < top) edge <<= 1;
  return edge;
}

double CommandStats::Figures::percentile(double p) const {
  if (calls == 0) return 0;
  uint64_t total = 0;
  for (uint64_t n : histogram) total += n;
  if (total == 0) return 0;
  double rank = p / 100.0 * static_cast<double>(total);
  uint64_t seen = 0;
  for (size_t b = 0; b < kLatencyBuckets; ++b) {
    seen += histogram[b];
    if (static_cast<double>(seen) >= rank && histogram[b] > 0) return static_cast<double>(latency_bucket_top(b));
  }
  return static_cast<double>(latency_bucket_top(kLatencyBuckets - 1));
}

namespace {
std::atomic<uint64_t> next_serial{1};

struct LocalBlock {
  uint64_t serial = 0;
  void* block = nullptr;
};
thread_local LocalBlock tl_block;
}  // namespace

CommandStats::CommandStats(size_t commands)
    : commands_(commands), serial_(next_serial.fetch_add(1)), zero_(commands) {}

CommandStats::~CommandStats() {
  if (tl_block.serial == serial_) tl_block = {};
}

CommandStats::Block& CommandStats::local() {
  if (tl_block.serial == serial_) return *static_cast<Block*>(tl_block.block);
  std::lock_guard lk(mu_);
  auto& b = blocks_[std::this_thread::get_id()];
  if (!b) b = std::make_unique<Block>(commands_);
  tl_block = {serial_, b.get()};
  return *b;
}

void CommandStats::ran(size_t command, uint64_t usec, bool failed) {
  if (command >= commands_) return;
  PerCommand& c = local().commands[command];
  add(c.calls, 1);
  add(c.usec, usec);
  if (failed) add(c.failed, 1);
  add(c.histogram[latency_bucket(usec)], 1);
}

void CommandStats::rejected(size_t command) {
  if (command >= commands_) return;
  add(local().commands[command].rejected, 1);
}

void CommandStats::error(std::string_view text) {
  // A reply's text after its type byte: the prefix is its first word, as
  // Redis counts it (an error without one counts as ERR).
  size_t end = text.find_first_of(" \r\n");
  std::string_view prefix = text.substr(0, end);
  if (prefix.empty() || prefix.size() > 32) prefix = "ERR";
  std::lock_guard lk(mu_);
  auto it = errors_.find(prefix);
  if (it == errors_.end()) it = errors_.emplace(std::string(prefix), 0).first;
  it->second++;
}

CommandStats::Figures CommandStats::sum(size_t command) const {
  Figures f;
  for (auto& [tid, b] : blocks_) {
    const PerCommand& c = b->commands[command];
    f.calls += get(c.calls);
    f.usec += get(c.usec);
    f.failed += get(c.failed);
    f.rejected += get(c.rejected);
    for (size_t i = 0; i < kLatencyBuckets; ++i) f.histogram[i] += get(c.histogram[i]);
  }
  return f;
}

CommandStats::Figures CommandStats::command(size_t command) const {
  if (command >= commands_) return {};
  std::lock_guard lk(mu_);
  Figures f = sum(command);
  const Figures& z = zero_[command];
  // A counter may have moved on since the zero was taken, never back.
  auto minus = [](uint64_t a, uint64_t b) { return a > b ? a - b : 0; };
  f.calls = minus(f.calls, z.calls);
  f.usec = minus(f.usec, z.usec);
  f.failed = minus(f.failed, z.failed);
  f.rejected = minus(f.rejected, z.rejected);
  for (size_t i = 0; i < kLatencyBuckets; ++i) f.histogram[i] = minus(f.histogram[i], z.histogram[i]);
  return f;
}

uint64_t CommandStats::total_calls() const {
  std::lock_guard lk(mu_);
  uint64_t n = 0, zero = 0;
  for (size_t i = 0; i < commands_; ++i) {
    for (auto& [tid, b] : blocks_) n += get(b->commands[i].calls);
    zero += zero_[i].calls;
  }
  return n > zero ? n - zero : 0;
}

uint64_t CommandStats::total_errors() const {
  std::lock_guard lk(mu_);
  uint64_t n = 0;
  for (auto& [prefix, count] : errors_) n += count;
  return n;
}

uint64_t CommandStats::sum_total(Total which) const {
  uint64_t n = 0;
  for (auto& [tid, b] : blocks_) n += get(b->totals[which]);
  return n;
}

uint64_t CommandStats::total(Total which) const {
  std::lock_guard lk(mu_);
  uint64_t n = sum_total(which);
  return n > zero_totals_[which] ? n - zero_totals_[which] : 0;
}

std::map<std::string, uint64_t> CommandStats::errors() const {
  std::lock_guard lk(mu_);
  return {errors_.begin(), errors_.end()};
}

void CommandStats::reset() {
  std::lock_guard lk(mu_);
  for (size_t i = 0; i < commands_; ++i) zero_[i] = sum(i);
  for (size_t t = 0; t < kTotals; ++t) zero_totals_[t] = sum_total(static_cast<Total>(t));
  errors_.clear();
}

}  // namespace redcar::resp
