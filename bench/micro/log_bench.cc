// Micro benchmarks of one shard's log alone, without the engine above it:
//
//   BM_LogAppend   stage() + when_durable() through io_uring and O_DIRECT,
//                  with a window of appends in flight so that group commit
//                  can batch, under --fsync always and never.
//   BM_Encode      encode_record(): header, copy, xxh3 checksum.
//   BM_Decode      decode_record() over a buffer of records: bounds and
//                  checksum checks, what recovery and cold reads pay.
//   BM_Checksum    xxh3 alone, the ceiling of the two above.
//
// The benchmark thread is the shard thread: it runs the log's reactor
// itself, staging while the previous flush is in flight.
//
// Environment:
//   REDCAR_BENCH_SMOKE=1        tiny sizes, for the test suite
//   REDCAR_BENCH_DIR=DIR        where temporary data folders go (default .)
//   REDCAR_BENCH_APPEND_MB=N    payload written per append benchmark (default 256)
//   REDCAR_BENCH_SEGMENT_MB=N   segment size (default: the engine's default)
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/micro/bench_util.h"
#include "engine/common/limits.h"
#include "engine/io/uring_disk.h"
#include "engine/log/log.h"
#include "engine/log/record.h"
#include "runtime/reactor.h"

namespace redcar::bench {
namespace {

constexpr size_t kWindowAppends = 256;
constexpr uint64_t kPollEveryAppends = 16;
static_assert((kPollEveryAppends & (kPollEveryAppends - 1)) == 0);

// Set when any benchmark failed, so that the binary's exit status says so
// (Google Benchmark itself only marks the run as skipped).
// Runs one turn of the log's loop, waiting for something to happen. A
// benchmark must never hang the test suite: when nothing happens for
// kStallSeconds it says so and exits.
void run_one(runtime::Reactor& loop, const char* what) {
  constexpr int kStallSeconds = 60;
  if (loop.run_once(std::chrono::seconds(kStallSeconds)) == 0) {
    std::fprintf(stderr, "log_bench: %s: nothing completed for %d s; giving up\n", what, kStallSeconds);
    std::fflush(stderr);
    std::_Exit(2);
  }
}


// The log and the ring it writes through, on a temporary folder. The
// caller's thread runs the reactor.
class LogUnderTest {
 public:
  explicit LogUnderTest(FsyncMode fsync) {
    if (int rc = runtime::Reactor::create({.ring_entries = limits::kRingEntries}, &loop_); rc < 0) {
      status_ = Status::from_errno(rc, "io_uring_setup");
      return;
    }
    disk_ = std::make_unique<io::UringDisk>(*loop_);
    log::LogOptions opt;
    opt.dir = dir_.path() + "/shard-000";
    opt.segment_bytes = segment_bytes();
    opt.fsync = fsync;
    log_ = std::make_unique<log::Log>(*disk_, *loop_, opt);
    log::RecoveryReport report;
    status_ = log_->open([](const log::RecordView&, uint64_t) {}, &report);
    if (!status_) return;
    // The log prepares its next segment in the background right after open;
    // let it finish so that the zero-fill does not compete with the timed
    // appends (at steady state it runs once per segment, not at the start).
    std::string spare = opt.dir + "/" + log::segment_file_name(opt.segment_bytes);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!std::filesystem::exists(spare) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  ~LogUnderTest() {
    if (log_) {
      bool drained = false;
      log_->drain([&] { drained = true; });
      while (!drained) run_one(*loop_, "drain");
    }
    log_.reset();
    disk_.reset();
  }

  const Status& status() const { return status_; }
  log::Log& log() { return *log_; }
  runtime::Reactor& loop() { return *loop_; }

 private:
  TempDir dir_{"redcar-log-bench"};
  std::unique_ptr<runtime::Reactor> loop_;
  std::unique_ptr<io::UringDisk> disk_;
  std::unique_ptr<log::Log> log_;
  Status status_;
};

void BM_LogAppend(benchmark::State& state, FsyncMode fsync, size_t body_bytes) {
  LogUnderTest t(fsync);
  if (!t.status()) {
    fail(state, t.status().to_string());
    return;
  }
  log::Log& lg = t.log();
  runtime::Reactor& loop = t.loop();
  const std::string name = "bench-stream";
  const std::string body(body_bytes, 'x');
  log::RecordHeader h;
  h.type = log::RecordType::kEvent;

  size_t in_flight = 0;
  Status failure;
  auto on_durable = [&](const Status& s) {
    in_flight--;
    if (!s && failure.is_ok()) failure = s;
  };
  const uint64_t flushes_before = lg.flushes();
  for (auto _ : state) {
    while (in_flight >= kWindowAppends) run_one(loop, "appends");
    // Let completions and the deferred flush run now and then; a shard's
    // loop does the same between the messages it receives.
    if ((h.number & (kPollEveryAppends - 1)) == 0) loop.poll();
    h.number++;
    h.id_ms = h.number;
    auto r = lg.stage(h, name, body);
    if (!r) {
      fail(state, r.status().to_string());
      break;
    }
    in_flight++;
    lg.when_durable(on_durable);
    // The last iteration waits for every acknowledgement, inside the timing.
    if (static_cast<int64_t>(h.number) == state.max_iterations) {
      while (in_flight > 0) run_one(loop, "appends");
    }
  }
  while (in_flight > 0) run_one(loop, "appends");
  if (!failure.is_ok()) {
    fail(state, failure.to_string());
    return;
  }
  const auto items = static_cast<int64_t>(state.iterations());
  state.SetItemsProcessed(items);
  state.SetBytesProcessed(items * static_cast<int64_t>(body_bytes));
  const uint64_t flushes = lg.flushes() - flushes_before;
  state.counters["flushes"] = static_cast<double>(flushes);
  state.counters["per_flush"] = flushes ? static_cast<double>(items) / static_cast<double>(flushes) : 0.0;
}

// A buffer of encoded records of one size, about `total_bytes` long.
struct EncodedRecords {
  std::vector<uint8_t> buf;
  size_t count = 0;
};

EncodedRecords encode_many(size_t body_bytes, size_t total_bytes) {
  const std::string name = "bench-stream";
  const std::string body(body_bytes, 'x');
  const size_t one = log::record_size(name.size(), body.size());
  EncodedRecords out;
  out.count = std::max<size_t>(1, total_bytes / one);
  out.buf.resize(out.count * one);
  log::RecordHeader h;
  for (size_t i = 0; i < out.count; ++i) {
    h.number = i;
    (void)log::encode_record(out.buf.data() + i * one, h, name, body);
  }
  return out;
}

size_t codec_buffer_bytes() { return smoke() ? 256 << 10 : 8 << 20; }

using Clock = std::chrono::steady_clock;

// bytes_per_second in binary units comes from SetBytesProcessed; "MB/s" is
// the same in decimal megabytes, the unit fio and the targets use.
void set_mb_per_s(benchmark::State& state, uint64_t bytes, Clock::time_point start) {
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["MB/s"] = seconds > 0 ? static_cast<double>(bytes) / 1e6 / seconds : 0.0;
}

// arg: body bytes. Each iteration encodes one buffer's worth of records.
void BM_Encode(benchmark::State& state) {
  const size_t body_bytes = static_cast<size_t>(state.range(0));
  EncodedRecords recs = encode_many(body_bytes, codec_buffer_bytes());
  const std::string name = "bench-stream";
  const std::string body(body_bytes, 'x');
  const size_t one = log::record_size(name.size(), body.size());
  log::RecordHeader h;
  const auto start = Clock::now();
  for (auto _ : state) {
    uint8_t* p = recs.buf.data();
    for (size_t i = 0; i < recs.count; ++i) {
      h.number = i;
      p += log::encode_record(p, h, name, body);
    }
    benchmark::DoNotOptimize(recs.buf.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * recs.count));
  set_mb_per_s(state, state.iterations() * recs.count * one, start);
}

// arg: body bytes. Each iteration decodes (and checks) one buffer of records.
void BM_Decode(benchmark::State& state) {
  const size_t body_bytes = static_cast<size_t>(state.range(0));
  EncodedRecords recs = encode_many(body_bytes, codec_buffer_bytes());
  const auto start = Clock::now();
  for (auto _ : state) {
    const uint8_t* p = recs.buf.data();
    size_t left = recs.buf.size();
    size_t n = 0;
    log::RecordView rec;
    while (left > 0) {
      if (log::decode_record(p, left, left, &rec) != log::DecodeResult::kOk) break;
      p += rec.padded_length;
      left -= rec.padded_length;
      n++;
    }
    if (n != recs.count) {
      fail(state, "decode_record refused a record it had encoded");
      return;
    }
    benchmark::DoNotOptimize(rec);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * recs.count));
  set_mb_per_s(state, state.iterations() * recs.buf.size(), start);
}

// arg: bytes per call.
void BM_Checksum(benchmark::State& state) {
  const size_t bytes = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> buf(bytes, 0x5a);
  const auto start = Clock::now();
  for (auto _ : state) {
    uint64_t sum = log::checksum(buf.data(), buf.size());
    benchmark::DoNotOptimize(sum);
  }
  set_mb_per_s(state, state.iterations() * bytes, start);
}

const int64_t kBodySizes[] = {64, 1024, 16384};

void register_all() {
  const bool short_run = smoke();
  const uint64_t budget_bytes = short_run ? 2 * kMiB : env_u64("REDCAR_BENCH_APPEND_MB", 256) * kMiB;
  for (int always : {1, 0}) {
    for (int64_t size : kBodySizes) {
      // A byte budget, capped in events so that small durable appends end in
      // seconds too.
      const uint64_t max_events = short_run ? 2000 : (always ? 300000 : 2000000);
      const uint64_t events = std::max<uint64_t>(
          kWindowAppends, std::min<uint64_t>(max_events, budget_bytes / static_cast<uint64_t>(size)));
      std::string name =
          std::string("BM_LogAppend/") + (always ? "fsync_always" : "fsync_never") + "/" + std::to_string(size);
      const auto fsync = always ? FsyncMode::kAlways : FsyncMode::kNever;
      benchmark::RegisterBenchmark(name.c_str(), BM_LogAppend, fsync, static_cast<size_t>(size))
          ->Iterations(static_cast<benchmark::IterationCount>(events))
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
  const double min_time = short_run ? 0.01 : 0.5;
  for (int64_t size : kBodySizes) {
    benchmark::RegisterBenchmark("BM_Encode", BM_Encode)->Arg(size)->MinTime(min_time);
  }
  for (int64_t size : kBodySizes) {
    benchmark::RegisterBenchmark("BM_Decode", BM_Decode)->Arg(size)->MinTime(min_time);
  }
  benchmark::RegisterBenchmark("BM_Checksum", BM_Checksum)->Arg(4096)->Arg(1 << 20)->MinTime(min_time);
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
