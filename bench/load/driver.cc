// The closed and open loops, the stop rules and the progress line (driver.h).
#include "driver.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <thread>

#include "clock.h"
#include "format.h"

namespace redcar::load {
namespace {

constexpr size_t kMaxDistinctErrors = 32;

std::chrono::steady_clock::time_point at_ns(int64_t ns) {
  return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(ns));
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

}  // namespace

int64_t Driver::due_time(uint64_t index) const {
  return t0_ns_ + static_cast<int64_t>(static_cast<double>(index) * 1e9 / config_.rate);
}

void Driver::start_op(int slot, int64_t start_ns) {
  start_ns_[static_cast<size_t>(slot)] = start_ns;
  client_->issue(slot, start_ns);
}

void Driver::slot_idle() {
  std::lock_guard lock(mu_);
  if (--busy_ == 0) cv_.notify_all();
}

void Driver::done(int slot, const OpResult& result) {
  const int64_t t = now_ns();
  const int64_t started = start_ns_[static_cast<size_t>(slot)];
  if (started >= measure_start_ns_) {
    latency_.record(static_cast<uint64_t>(std::max<int64_t>(0, t - started)));
    ops_.fetch_add(1, std::memory_order_relaxed);
    events_.fetch_add(result.events, std::memory_order_relaxed);
    bytes_.fetch_add(result.bytes, std::memory_order_relaxed);
    int64_t last = last_done_ns_.load(std::memory_order_relaxed);
    while (t > last && !last_done_ns_.compare_exchange_weak(last, t, std::memory_order_relaxed)) {
    }
  } else {
    warmup_ops_.fetch_add(1, std::memory_order_relaxed);
  }
  if (!result.ok) error(result.error.empty() ? std::string_view("error without a message") : result.error);
  if (result.fatal) {
    if (slots_lost_.fetch_add(1, std::memory_order_relaxed) + 1 == slots_) abort("every connection failed");
    slot_idle();
    return;
  }

  if (config_.rate > 0) {
    std::unique_lock lock(mu_);
    if (!stopping_.load(std::memory_order_relaxed) && sent_ < due_) {
      const uint64_t index = sent_++;
      lock.unlock();
      start_op(slot, due_time(index));
    } else {
      free_.push_back(slot);
      if (--busy_ == 0) cv_.notify_all();
    }
    return;
  }

  const int64_t now = now_ns();
  if (!may_start(now)) {
    slot_idle();
    return;
  }
  start_op(slot, now);
}

bool Driver::may_start(int64_t now) {
  if (stopping_.load(std::memory_order_relaxed)) return false;
  if (config_.ops == 0 && now >= end_ns_) {
    stopping_.store(true);
    return false;
  }
  if (config_.ops > 0 && now >= measure_start_ns_ &&
      measured_started_.fetch_add(1, std::memory_order_relaxed) >= config_.ops) {
    stopping_.store(true);
    return false;
  }
  return true;
}

void Driver::error(std::string_view what) {
  const uint64_t n = errors_.fetch_add(1, std::memory_order_relaxed) + 1;
  {
    std::lock_guard lock(mu_);
    std::string key(what);
    if (error_counts_.size() >= kMaxDistinctErrors && !error_counts_.count(key)) key = "(other messages)";
    ++error_counts_[key];
  }
  if (config_.max_errors > 0 && n > config_.max_errors) {
    abort("more than " + std::to_string(config_.max_errors) + " errors");
  }
}

void Driver::abort(std::string reason) {
  std::lock_guard lock(mu_);
  if (!aborted_) {
    aborted_ = true;
    abort_reason_ = std::move(reason);
  }
  stopping_.store(true);
  cv_.notify_all();
}

void Driver::progress_loop() {
  const bool tty = isatty(2);
  std::unique_lock lock(mu_);
  int64_t next_ns = t0_ns_;
  while (!finished_) {
    next_ns += 1'000'000'000;
    if (progress_cv_.wait_until(lock, at_ns(next_ns), [&] { return finished_; })) break;
    lock.unlock();
    const int64_t t = now_ns();
    const double elapsed_s = static_cast<double>(t - t0_ns_) / 1e9;
    char line[256];
    if (t < measure_start_ns_) {
      std::snprintf(line, sizeof line, "[%6.1fs] warm-up, %s operations, %s errors", elapsed_s,
                    with_commas(static_cast<double>(warmup_ops_.load())).c_str(), with_commas(static_cast<double>(errors_.load())).c_str());
    } else {
      const Histogram h = latency_.snapshot();
      const double measured_s = static_cast<double>(t - measure_start_ns_) / 1e9;
      const uint64_t ops = ops_.load();
      const double rate = measured_s > 0 ? static_cast<double>(ops) / measured_s : 0;
      double eta_s = 0;
      if (config_.ops > 0) {
        eta_s = rate > 0 ? static_cast<double>(config_.ops - std::min(ops, config_.ops)) / rate : 0;
      } else {
        eta_s = std::max(0.0, static_cast<double>(end_ns_ - t) / 1e9);
      }
      std::snprintf(line, sizeof line, "[%6.1fs] %s ops/s, p99 %s, %s errors, eta %.0fs", elapsed_s,
                    with_commas(rate).c_str(), latency_text(h.quantile(0.99)).c_str(),
                    with_commas(static_cast<double>(errors_.load())).c_str(), eta_s);
    }
    if (tty) {
      std::fprintf(stderr, "\r%s\033[K", line);
    } else {
      std::fprintf(stderr, "%s\n", line);
    }
    std::fflush(stderr);
    lock.lock();
  }
  if (tty) std::fprintf(stderr, "\n");
}

RunResult Driver::run(Client& client) {
  client_ = &client;
  slots_ = client.slots();
  const double cpu0 = cpu_seconds();
  start_ns_.assign(static_cast<size_t>(slots_), 0);
  t0_ns_ = now_ns();
  measure_start_ns_ = t0_ns_ + static_cast<int64_t>(config_.warmup_s * 1e9);
  end_ns_ = config_.ops > 0 ? INT64_MAX : measure_start_ns_ + static_cast<int64_t>(config_.duration_s * 1e9);

  std::thread progress;
  if (config_.progress) progress = std::thread([this] { progress_loop(); });

  const auto drain_ns = static_cast<int64_t>(config_.drain_s * 1e9);
  if (config_.rate <= 0) {
    {
      std::lock_guard lock(mu_);
      busy_ = slots_;
    }
    for (int s = 0; s < slots_; ++s) {
      const int64_t now = now_ns();
      if (may_start(now)) {
        start_op(s, now);
      } else {
        slot_idle();
      }
    }
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, at_ns(end_ns_), [&] { return busy_ == 0 || stopping_.load(); });
    stopping_.store(true);
  } else {
    const double period_ns = 1e9 / config_.rate;
    const auto warmup_ns = static_cast<double>(measure_start_ns_ - t0_ns_);
    due_limit_ = config_.ops > 0
                     ? static_cast<uint64_t>(std::ceil(warmup_ns / period_ns)) + config_.ops
                     : static_cast<uint64_t>(std::ceil(static_cast<double>(end_ns_ - t0_ns_) / period_ns));
    {
      std::lock_guard lock(mu_);
      for (int s = slots_ - 1; s >= 0; --s) free_.push_back(s);
    }
    std::vector<std::pair<int, int64_t>> starts;
    while (!stopping_.load()) {
      const int64_t t = now_ns();
      const auto passed = static_cast<uint64_t>(static_cast<double>(t - t0_ns_) / period_ns) + 1;
      const uint64_t due = std::min(due_limit_, passed);
      starts.clear();
      {
        std::lock_guard lock(mu_);
        due_ = due;
        while (sent_ < due_ && !free_.empty()) {
          starts.emplace_back(free_.back(), due_time(sent_++));
          free_.pop_back();
          ++busy_;
        }
      }
      for (auto [slot, start] : starts) start_op(slot, start);
      if (due >= due_limit_) break;
      std::this_thread::sleep_until(at_ns(std::min(due_time(due), t + 1'000'000)));
    }
    // Everything due is sent as slots free up; the end waits for that too.
    std::unique_lock lock(mu_);
    const int64_t until = std::max(now_ns(), end_ns_ == INT64_MAX ? now_ns() : end_ns_) + drain_ns;
    cv_.wait_until(lock, at_ns(until), [&] { return (busy_ == 0 && sent_ == due_) || stopping_.load(); });
    stopping_.store(true);
  }

  {
    std::unique_lock lock(mu_);
    if (!cv_.wait_until(lock, at_ns(now_ns() + drain_ns), [&] { return busy_ == 0; })) {
      const int left = busy_;
      lock.unlock();
      abort(std::to_string(left) + " operation(s) still unanswered " + std::to_string(config_.drain_s) +
            " s after the end");
    }
  }
  bool aborted = false;
  {
    std::lock_guard lock(mu_);
    aborted = aborted_;
  }
  if (!aborted) client.drain(static_cast<int>(config_.drain_s * 1000));
  client.stop();

  {
    std::lock_guard lock(mu_);
    finished_ = true;
    progress_cv_.notify_all();
  }
  if (progress.joinable()) progress.join();

  RunResult r;
  r.wall_s = static_cast<double>(now_ns() - t0_ns_) / 1e9;
  r.client_cpu_s = cpu_seconds() - cpu0;
  r.latency = latency_.snapshot();
  r.ops = ops_.load();
  r.events = events_.load();
  r.bytes = bytes_.load();
  r.warmup_ops = warmup_ops_.load();
  const int64_t last = last_done_ns_.load();
  r.measured_s = last > measure_start_ns_ ? static_cast<double>(last - measure_start_ns_) / 1e9 : 0;
  r.errors = errors_.load();
  r.slots_lost = slots_lost_.load();
  std::lock_guard lock(mu_);
  r.error_counts = error_counts_;
  r.unsent = due_ - sent_;
  r.aborted = aborted_;
  r.abort_reason = abort_reason_;
  return r;
}

}  // namespace redcar::load
