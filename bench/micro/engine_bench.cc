// Micro benchmarks of the storage engine through its public facade
// (engine/api/engine.h), on a real disk:
//
//   BM_EngineAppend    one-event appends with a window of 256 in flight, so
//                      that group commit can batch; fsync always and never,
//                      64 B / 1 KiB / 16 KiB, 1 and 2 shards.
//   BM_EngineRead      a stream read back by ranges of 1000 events: hot (just
//                      written, served from the hot cache) and cold (hot cache
//                      off and the engine reopened, so every range is read
//                      from disk with O_DIRECT), 1 or 4 ranges in flight.
//   BM_EngineAppendBatch  appends of 100 events of 100 B, with an idempotency
//                      id on every event or on none, fsync never: the
//                      engine's CPU per event (counter cpu_us_per_event).
//   BM_EngineRecovery  Engine::open over a log written beforehand: the
//                      recovery scan rate, reported as the counter "MB/s".
//
// Callbacks run on the shard threads; the benchmark thread waits on a
// condition variable when its window is full. Times are wall-clock.
//
// Environment:
//   REDCAR_BENCH_SMOKE=1          tiny sizes (the whole binary in seconds)
//   REDCAR_BENCH_DIR=DIR          where temporary data folders go (default .)
//   REDCAR_BENCH_APPEND_MB=N      payload per append benchmark (default 256)
//   REDCAR_BENCH_READ_MB=N        payload of the stream read cold (default 256)
//   REDCAR_BENCH_RECOVERY_MB=N    log written before the recovery benchmark (default 256)
//   REDCAR_BENCH_SEGMENT_MB=N     segment size (default: the engine's default)
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/api/engine.h"
#include "bench/micro/bench_util.h"
#include "engine/common/limits.h"
#include "engine/log/segment_set.h"

namespace redcar::bench {
namespace {

constexpr int64_t kAppendWindow = 256;
constexpr uint64_t kRangeEvents = 1000;
constexpr size_t kStreamsPerShard = 4;
// The setup of read and recovery benchmarks writes this many events per
// append call: it only has to be quick.
constexpr size_t kSetupEventsPerAppend = 100;

using Clock = std::chrono::steady_clock;

// Set when any benchmark failed, so that the binary's exit status says so
// (Google Benchmark itself only marks the run as skipped).

// Bounds the operations in flight. The benchmark thread acquires a slot per
// operation; callbacks, on shard threads, release it. The waiter is woken
// only when the window has drained to three quarters (or to empty), not on
// every completion.
//
// A benchmark must never hang the test suite: when nothing completes for
// kStallSeconds while the benchmark waits, it says so and exits.
class Window {
 public:
  static constexpr int kStallSeconds = 60;

  Window(int64_t limit, const char* what) : limit_(limit), low_(limit * 3 / 4), what_(what) {}

  void acquire() {
    if (in_flight_.load(std::memory_order_acquire) >= limit_) {
      wait_until([&] { return in_flight_.load(std::memory_order_acquire) <= low_; });
    }
    in_flight_.fetch_add(1, std::memory_order_acq_rel);
  }

  void release(const Status& s) {
    if (!s) {
      std::lock_guard lk(mu_);
      if (error_.empty()) error_ = s.to_string();
    }
    completed_.fetch_add(1, std::memory_order_relaxed);
    const int64_t left = in_flight_.fetch_sub(1, std::memory_order_acq_rel) - 1;
    if (left == low_ || left == 0) {
      std::lock_guard lk(mu_);
      cv_.notify_all();
    }
  }

  void wait_idle() {
    wait_until([&] { return in_flight_.load(std::memory_order_acquire) == 0; });
  }

  // The first error a callback reported, empty if none.
  std::string error() {
    std::lock_guard lk(mu_);
    return error_;
  }

 private:
  template <typename Pred>
  void wait_until(Pred ready) {
    std::unique_lock lk(mu_);
    uint64_t seen = completed_.load(std::memory_order_relaxed);
    auto last_progress = Clock::now();
    while (!cv_.wait_for(lk, std::chrono::seconds(1), ready)) {
      const uint64_t now_completed = completed_.load(std::memory_order_relaxed);
      if (now_completed != seen) {
        seen = now_completed;
        last_progress = Clock::now();
      } else if (Clock::now() - last_progress > std::chrono::seconds(kStallSeconds)) {
        std::fprintf(stderr, "engine_bench: %s: %lld in flight and none answered for %d s; giving up\n", what_,
                     static_cast<long long>(in_flight_.load()), kStallSeconds);
        std::fflush(stderr);
        std::_Exit(2);
      }
    }
  }

  const int64_t limit_;
  const int64_t low_;
  const char* what_;
  std::atomic<int64_t> in_flight_{0};
  std::atomic<uint64_t> completed_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::string error_;
};

Result<std::unique_ptr<Engine>> open_engine(const std::string& dir, unsigned shards, FsyncMode fsync,
                                            size_t hot_cache_bytes = limits::kDefaultHotCacheBytes) {
  EngineOptions opt;
  opt.data_dir = dir;
  opt.shards = shards;
  opt.fsync = fsync;
  opt.segment_bytes = segment_bytes();
  opt.hot_cache_bytes = hot_cache_bytes;
  return Engine::open(opt);
}

// A new log prepares its next segment in the background right after open;
// let that finish so that its zero-fill does not compete with the timed part
// (at steady state it happens once per segment, not at the start).
void wait_for_spare_segments(const std::string& dir, unsigned shards) {
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  for (unsigned i = 0; i < shards; ++i) {
    char shard_dir[32];
    std::snprintf(shard_dir, sizeof(shard_dir), "/shard-%03u/", i);
    const std::string spare = dir + shard_dir + log::segment_file_name(segment_bytes());
    while (!std::filesystem::exists(spare) && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
}

// Stream names spread evenly over the shards: `per_shard` for each.
std::vector<std::string> streams_over_shards(const Engine& engine, size_t per_shard) {
  const unsigned shards = engine.shard_count();
  std::vector<size_t> have(shards, 0);
  std::vector<std::string> names;
  for (unsigned i = 0; names.size() < per_shard * shards; ++i) {
    std::string name = "bench-" + std::to_string(i);
    unsigned s = engine.shard_of(name);
    if (have[s] < per_shard) {
      have[s]++;
      names.push_back(std::move(name));
    }
  }
  return names;
}

EventData make_event(size_t data_bytes) {
  EventData ev;
  ev.type = "bench";
  ev.data.assign(data_bytes, 'x');
  return ev;
}

// Appends `events` events of `data_bytes` each, round-robin over `streams`,
// `per_append` at a time, with up to kAppendWindow appends in flight.
// Returns the first error, empty if none.
std::string write_events(Engine& engine, const std::vector<std::string>& streams, uint64_t events, size_t data_bytes,
                         size_t per_append) {
  Window window(kAppendWindow, "setup appends");
  const EventData ev = make_event(data_bytes);
  uint64_t written = 0;
  for (size_t i = 0; written < events; ++i) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(per_append, events - written));
    window.acquire();
    engine.append(streams[i % streams.size()], std::vector<EventData>(n, ev), AppendOptions{},
                  [&window](Result<AppendResult> r) { window.release(r.status()); });
    written += n;
  }
  window.wait_idle();
  return window.error();
}

// ---------------------------------------------------------------------------

// An engine on `dir` whose spare segments are ready, so that their
// zero-filling does not share the disk with the appends measured; null
// (and the benchmark failed) if it does not open.
std::unique_ptr<Engine> open_for_appends(benchmark::State& state, const std::string& dir, unsigned shards,
                                         FsyncMode fsync) {
  auto opened = open_engine(dir, shards, fsync);
  if (!opened) {
    fail(state, opened.status().to_string());
    return nullptr;
  }
  wait_for_spare_segments(dir, shards);
  return std::move(*opened);
}

void BM_EngineAppend(benchmark::State& state, FsyncMode fsync, size_t data_bytes, unsigned shards) {
  TempDir dir("redcar-engine-bench");
  std::unique_ptr<Engine> engine = open_for_appends(state, dir.path(), shards, fsync);
  if (!engine) return;
  const std::vector<std::string> streams = streams_over_shards(*engine, kStreamsPerShard);
  const EventData ev = make_event(data_bytes);
  Window window(kAppendWindow, "appends");
  auto done = [&window](Result<AppendResult> r) { window.release(r.status()); };

  int64_t i = 0;
  for (auto _ : state) {
    window.acquire();
    engine->append(streams[static_cast<size_t>(i) % streams.size()], std::vector<EventData>{ev}, AppendOptions{}, done);
    // The last iteration waits for every acknowledgement, inside the timing.
    if (++i == state.max_iterations) window.wait_idle();
  }
  window.wait_idle();
  engine->stop();

  if (std::string err = window.error(); !err.empty()) {
    fail(state, err);
    return;
  }
  const auto items = static_cast<int64_t>(state.iterations());
  state.SetItemsProcessed(items);
  state.SetBytesProcessed(items * static_cast<int64_t>(data_bytes));
}

// ---------------------------------------------------------------------------

double process_cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

// Appends of kBatchEvents events of 100 B each, as the native gRPC append
// carries them, with an idempotency id on every event or on none: what the
// engine spends per event, ids included, with the disk out of the way
// (fsync never). One iteration is one append; kBatchWindow in flight.
constexpr size_t kBatchEvents = 100;
constexpr int64_t kBatchWindow = 64;

void BM_EngineAppendBatch(benchmark::State& state, bool ids, unsigned shards) {
  TempDir dir("redcar-engine-bench");
  std::unique_ptr<Engine> engine = open_for_appends(state, dir.path(), shards, FsyncMode::kNever);
  if (!engine) return;
  const std::vector<std::string> streams = streams_over_shards(*engine, kStreamsPerShard);
  // Built before the timing: what a front end hands the engine.
  const size_t batches = static_cast<size_t>(state.max_iterations);
  std::vector<std::vector<EventData>> calls(batches);
  uint64_t next_id = 0;
  for (auto& call : calls) {
    call.assign(kBatchEvents, make_event(100));
    if (ids) {
      for (auto& ev : call) ev.idempotency_id = "9f1c6d2e-4b7a-4c11-8e0f-" + std::to_string(1000000000000 + next_id++);
    }
  }
  Window window(kBatchWindow, "batch appends");
  auto done = [&window](Result<AppendResult> r) { window.release(r.status()); };

  const double cpu0 = process_cpu_seconds();
  size_t i = 0;
  for (auto _ : state) {
    window.acquire();
    engine->append(streams[i % streams.size()], std::move(calls[i]), AppendOptions{}, done);
    if (++i == batches) window.wait_idle();
  }
  window.wait_idle();
  const double cpu = process_cpu_seconds() - cpu0;
  engine->stop();

  if (std::string err = window.error(); !err.empty()) {
    fail(state, err);
    return;
  }
  const auto events = static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(kBatchEvents);
  state.SetItemsProcessed(events);
  state.SetBytesProcessed(events * 100);
  // The whole process: the shard threads and the benchmark thread handing
  // them appends (which does little more than move the batch).
  state.counters["cpu_us_per_event"] = cpu * 1e6 / static_cast<double>(events);
}

// ---------------------------------------------------------------------------

// Events of the stream read back: a whole number of ranges.
uint64_t read_events(size_t data_bytes, bool cold) {
  uint64_t budget = smoke() ? 2 * kRangeEvents * 64 : env_u64("REDCAR_BENCH_READ_MB", 256) * kMiB;
  if (!cold && !smoke()) budget = std::min<uint64_t>(budget, 64 * kMiB);  // fits the hot cache
  const uint64_t max_events = smoke() ? 2 * kRangeEvents : 1000000;
  const uint64_t events = std::min<uint64_t>(max_events, std::max<uint64_t>(1, budget / data_bytes));
  return std::max<uint64_t>(kRangeEvents, events - events % kRangeEvents);
}

void BM_EngineRead(benchmark::State& state, bool cold, size_t data_bytes, int64_t ranges_in_flight) {
  TempDir dir("redcar-engine-bench");
  const uint64_t events = read_events(data_bytes, cold);
  const uint64_t ranges = events / kRangeEvents;
  // Hot: a cache with ample room for the whole stream.
  const size_t hot_bytes = cold ? limits::kDefaultHotCacheBytes
                                : std::max<size_t>(limits::kDefaultHotCacheBytes, 4 * events * (data_bytes + 128));
  auto opened = open_engine(dir.path(), 1, FsyncMode::kNever, hot_bytes);
  if (!opened) {
    fail(state, opened.status().to_string());
    return;
  }
  std::unique_ptr<Engine> engine = std::move(*opened);
  const std::string stream = "read-bench";
  if (std::string err = write_events(*engine, {stream}, events, data_bytes, kSetupEventsPerAppend); !err.empty()) {
    fail(state, err);
    return;
  }
  if (cold) {
    // Reopen with no hot cache: every range comes from the segment files.
    engine->stop();
    engine.reset();
    opened = open_engine(dir.path(), 1, FsyncMode::kNever, 0);
    if (!opened) {
      fail(state, opened.status().to_string());
      return;
    }
    engine = std::move(*opened);
  }

  Window window(ranges_in_flight, "reads");
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> got_events{0};
  uint64_t next = 0;
  for (auto _ : state) {
    window.acquire();
    ReadSpec spec;
    spec.from_number = (next++ % ranges) * kRangeEvents;
    spec.to_number = spec.from_number + kRangeEvents - 1;
    spec.count = kRangeEvents;
    engine->read(stream, spec, [&](Result<ReadResult> r) {
      if (r) {
        uint64_t b = 0;
        for (const Event& e : r->events) b += e.payload.data.size();
        bytes.fetch_add(b, std::memory_order_relaxed);
        got_events.fetch_add(r->events.size(), std::memory_order_relaxed);
        if (r->events.size() != kRangeEvents) {
          window.release(Status(Code::kOutOfRange, "a range came back with " + std::to_string(r->events.size()) +
                                                       " events instead of " + std::to_string(kRangeEvents)));
          return;
        }
      }
      window.release(r.status());
    });
    if (static_cast<int64_t>(next) == state.max_iterations) window.wait_idle();
  }
  window.wait_idle();
  engine->stop();

  if (std::string err = window.error(); !err.empty()) {
    fail(state, err);
    return;
  }
  state.SetItemsProcessed(static_cast<int64_t>(got_events.load()));
  state.SetBytesProcessed(static_cast<int64_t>(bytes.load()));
  state.counters["events"] = static_cast<double>(events);
}

// ---------------------------------------------------------------------------

void BM_EngineRecovery(benchmark::State& state, size_t data_bytes, unsigned shards) {
  TempDir dir("redcar-engine-bench");
  const uint64_t log_bytes = smoke() ? 2 * kMiB : env_u64("REDCAR_BENCH_RECOVERY_MB", 256) * kMiB;
  {
    auto opened = open_engine(dir.path(), shards, FsyncMode::kNever);
    if (!opened) {
      fail(state, opened.status().to_string());
      return;
    }
    std::unique_ptr<Engine> engine = std::move(*opened);
    const std::vector<std::string> streams = streams_over_shards(*engine, kStreamsPerShard);
    // Payload only; each record adds its header and the stream name.
    const uint64_t events = std::max<uint64_t>(1, log_bytes / (data_bytes + 64));
    if (std::string err = write_events(*engine, streams, events, data_bytes, kSetupEventsPerAppend); !err.empty()) {
      fail(state, err);
      return;
    }
    engine->stop();
  }

  uint64_t scanned_bytes = 0;
  uint64_t records = 0;
  double open_seconds = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    auto opened = open_engine(dir.path(), shards, FsyncMode::kNever);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (!opened) {
      fail(state, opened.status().to_string());
      return;
    }
    state.SetIterationTime(s);
    open_seconds += s;
    std::unique_ptr<Engine> engine = std::move(*opened);
    for (unsigned i = 0; i < engine->shard_count(); ++i) {
      scanned_bytes += engine->recovery_report(i).bytes_scanned;
      records += engine->recovery_report(i).records;
    }
    engine->stop();
  }
  state.SetItemsProcessed(static_cast<int64_t>(records));
  state.SetBytesProcessed(static_cast<int64_t>(scanned_bytes));
  state.counters["MB/s"] = open_seconds > 0 ? static_cast<double>(scanned_bytes) / 1e6 / open_seconds : 0.0;
  state.counters["log_MB"] =
      static_cast<double>(scanned_bytes) / 1e6 / static_cast<double>(std::max<int64_t>(1, state.iterations()));
}

// ---------------------------------------------------------------------------

const size_t kDataSizes[] = {64, 1024, 16384};

std::string size_name(size_t bytes) {
  return bytes >= 1024 ? std::to_string(bytes / 1024) + "KiB" : std::to_string(bytes) + "B";
}

void register_all() {
  const bool short_run = smoke();
  const uint64_t append_budget = short_run ? 2 * kMiB : env_u64("REDCAR_BENCH_APPEND_MB", 256) * kMiB;
  for (unsigned shards : {1u, 2u}) {
    for (bool always : {true, false}) {
      for (size_t size : kDataSizes) {
        // A byte budget, capped in events so that small durable appends end
        // in seconds too.
        const uint64_t max_events = short_run ? 2000 : (always ? 300000 : 1000000);
        const uint64_t events = std::max<uint64_t>(kAppendWindow, std::min<uint64_t>(max_events, append_budget / size));
        const std::string name = "BM_EngineAppend/" + std::string(always ? "fsync_always" : "fsync_never") + "/" +
                                 size_name(size) + "/shards:" + std::to_string(shards);
        benchmark::RegisterBenchmark(name.c_str(), BM_EngineAppend,
                                     always ? FsyncMode::kAlways : FsyncMode::kNever, size, shards)
            ->Iterations(static_cast<benchmark::IterationCount>(events))
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
      }
    }
  }
  for (bool ids : {false, true}) {
    const uint64_t batches = short_run ? 50 : 20000;  // 2 million events
    const std::string name = std::string("BM_EngineAppendBatch/100x100B/") + (ids ? "ids:every" : "ids:none") +
                             "/fsync_never/shards:1";
    benchmark::RegisterBenchmark(name.c_str(), BM_EngineAppendBatch, ids, 1u)
        ->Iterations(static_cast<benchmark::IterationCount>(batches))
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
  for (unsigned shards : {1u, 2u}) {
    for (size_t size : {size_t{64}, size_t{1024}}) {
      const std::string name = "BM_EngineRecovery/" + size_name(size) + "/shards:" + std::to_string(shards);
      benchmark::RegisterBenchmark(name.c_str(), BM_EngineRecovery, size, shards)
          ->Iterations(short_run ? 1 : 3)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
  for (bool cold : {false, true}) {
    for (size_t size : kDataSizes) {
      for (int64_t in_flight : {1, 4}) {
        if (!cold && in_flight > 1) continue;
        // Cold: one pass over the stream. Hot: passes until the timing is long
        // enough to mean something.
        uint64_t ranges = read_events(size, cold) / kRangeEvents;
        if (!cold && !short_run) ranges = std::max<uint64_t>(ranges, 256);
        const std::string name = "BM_EngineRead/" + std::string(cold ? "cold" : "hot") + "/" + size_name(size) +
                                 "/in_flight:" + std::to_string(in_flight);
        benchmark::RegisterBenchmark(name.c_str(), BM_EngineRead, cold, size, in_flight)
            ->Iterations(static_cast<benchmark::IterationCount>(ranges))
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
      }
    }
  }
}

}  // namespace
}  // namespace redcar::bench

int main(int argc, char** argv) {
  redcar::bench::register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return redcar::bench::g_failed ? 1 : 0;
}
