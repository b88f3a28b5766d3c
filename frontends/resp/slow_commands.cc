#include "frontends/resp/slow_commands.h"

#include <algorithm>
#include <chrono>

namespace redcar::resp {

namespace {
int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

void Slowlog::add(Entry e) {
  std::lock_guard lk(mu_);
  e.id = next_id_++;
  entries_.push_front(std::move(e));
  size_t cap = static_cast<size_t>(std::max<int64_t>(0, max_len.load(std::memory_order_relaxed)));
  while (entries_.size() > cap) entries_.pop_back();
}

std::vector<Slowlog::Entry> Slowlog::latest(int64_t count) const {
  std::lock_guard lk(mu_);
  size_t n = count < 0 ? entries_.size() : std::min(entries_.size(), static_cast<size_t>(count));
  return {entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(n)};
}

size_t Slowlog::size() const {
  std::lock_guard lk(mu_);
  return entries_.size();
}

void Slowlog::reset() {
  std::lock_guard lk(mu_);
  entries_.clear();
}

void LatencyMonitor::add(const std::string& event, uint64_t ms) {
  int64_t now = unix_now();
  std::lock_guard lk(mu_);
  Event& e = events_[event];
  e.max_ms = std::max(e.max_ms, ms);
  if (!e.history.empty() && e.history.back().unix_seconds == now) {
    e.history.back().ms = std::max(e.history.back().ms, ms);
    return;
  }
  e.history.push_back({now, ms});
  if (e.history.size() > kHistory) e.history.pop_front();
}

std::map<std::string, LatencyMonitor::Event> LatencyMonitor::events() const {
  std::lock_guard lk(mu_);
  return events_;
}

size_t LatencyMonitor::reset(const std::vector<std::string>& names) {
  std::lock_guard lk(mu_);
  if (names.empty()) {
    size_t n = events_.size();
    events_.clear();
    return n;
  }
  size_t n = 0;
  for (const auto& name : names) n += events_.erase(name);
  return n;
}

}  // namespace redcar::resp
