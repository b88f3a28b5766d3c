// The RESP front end end to end, in one process: a resp::Server over an
// engine on a real data folder, and one client socket that sends a pipeline
// of the same command and reads every reply back. Beside the rate, each
// benchmark counts the heap allocations the whole process made per request
// (this binary replaces the global operator new with a counting one), which
// is how the hot paths are kept allocation-free: a figure here that grows
// is an allocation someone added to PING, GET, SET, XADD, XRANGE or
// XREADGROUP.
//
//   BM_Resp/<command>/<shards>   one connection, 64 requests per round trip
//
// Counters: allocs_per_req and alloc_bytes_per_req (the client's share is
// zero: it reuses its buffers), and req/s. REDCAR_BENCH_ALLOC_TRACE=N
// prints the call stacks of the first N allocations of each timed loop,
// after REDCAR_BENCH_ALLOC_TRACE_SKIP of them (symbolize with addr2line):
// where to look next.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <execinfo.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "bench/load/resp_codec.h"
#include "bench/micro/bench_util.h"
#include "engine/api/engine.h"
#include "frontends/resp/server.h"

// ---- counting allocator -------------------------------------------------------
namespace {
std::atomic<uint64_t> g_allocs{0};
std::atomic<uint64_t> g_alloc_bytes{0};
std::atomic<int64_t> g_trace_left{0};
std::atomic<int64_t> g_trace_skip{0};
thread_local bool t_tracing = false;  // backtrace() may allocate itself

void trace(size_t n) {
  if (t_tracing || g_trace_left.load(std::memory_order_relaxed) <= 0) return;
  if (g_trace_skip.load(std::memory_order_relaxed) > 0 && g_trace_skip.fetch_sub(1) > 0) return;
  if (g_trace_left.fetch_sub(1) <= 0) return;
  t_tracing = true;
  void* frames[24];
  int depth = backtrace(frames, 24);
  std::fprintf(stderr, "-- allocation of %zu bytes:\n", n);
  backtrace_symbols_fd(frames, depth, 2);
  t_tracing = false;
}

void* counted_alloc(size_t n, size_t align) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  trace(n);
  g_alloc_bytes.fetch_add(n, std::memory_order_relaxed);
  void* p = align > alignof(std::max_align_t) ? std::aligned_alloc(align, (n + align - 1) / align * align)
                                               : std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(size_t n) { return counted_alloc(n, 0); }
void* operator new[](size_t n) { return counted_alloc(n, 0); }
void* operator new(size_t n, std::align_val_t a) { return counted_alloc(n, static_cast<size_t>(a)); }
void* operator new[](size_t n, std::align_val_t a) { return counted_alloc(n, static_cast<size_t>(a)); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  g_alloc_bytes.fetch_add(n, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { std::free(p); }

namespace redcar::bench {
namespace {

constexpr int kPipeline = 64;
constexpr size_t kValueBytes = 100;

enum Command { kPing, kGet, kSet, kXadd, kXrange, kXreadgroup };
const char* const kNames[] = {"PING", "GET", "SET", "XADD", "XRANGE", "XREADGROUP"};

class Fixture {
 public:
  bool open(benchmark::State& state, unsigned shards) {
    EngineOptions opt;
    opt.data_dir = dir_.path();
    opt.shards = shards;
    opt.fsync = FsyncMode::kNever;  // the CPU path; the disk is engine_bench's
    opt.segment_bytes = segment_bytes();
    auto e = Engine::open(opt);
    if (!e) {
      fail(state, e.status().to_string());
      return false;
    }
    engine_ = std::move(*e);
    resp::ServerOptions so;
    so.address = "127.0.0.1:0";
    server_ = std::make_unique<resp::Server>(*engine_, so);
    if (Status s = server_->start(); !s.is_ok()) {
      fail(state, s.to_string());
      return false;
    }
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(server_->port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      fail(state, "connect failed");
      return false;
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    in_.resize(1 << 20);
    return true;
  }

  ~Fixture() {
    if (fd_ >= 0) ::close(fd_);
    if (server_) server_->stop();
    if (engine_) engine_->stop();
  }

  // Sends `batch` and reads `n` replies; false (and the benchmark failed)
  // on an error reply or a broken connection.
  bool exchange(benchmark::State& state, const std::string& batch, int n) {
    size_t done = 0;
    while (done < batch.size()) {
      ssize_t k = ::send(fd_, batch.data() + done, batch.size() - done, MSG_NOSIGNAL);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) {
        fail(state, "send failed");
        return false;
      }
      done += static_cast<size_t>(k);
    }
    size_t have = 0, pos = 0;
    for (int got = 0; got < n;) {
      load::resp::Reply r;
      size_t used = 0;
      auto p = load::resp::parse_reply(std::string_view(in_.data() + pos, have - pos), &r, &used);
      if (p == load::resp::Parse::kMalformed) {
        fail(state, "malformed reply");
        return false;
      }
      if (p == load::resp::Parse::kComplete) {
        if (r.is_error) {
          fail(state, "error reply: " + std::string(r.text));
          return false;
        }
        pos += used;
        ++got;
        continue;
      }
      if (pos > 0) {
        std::memmove(in_.data(), in_.data() + pos, have - pos);
        have -= pos;
        pos = 0;
      }
      if (have == in_.size()) in_.resize(in_.size() * 2);
      ssize_t k = ::recv(fd_, in_.data() + have, in_.size() - have, 0);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) {
        fail(state, "connection closed");
        return false;
      }
      have += static_cast<size_t>(k);
    }
    return true;
  }

 private:
  TempDir dir_{"resp-bench-"};
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<resp::Server> server_;
  int fd_ = -1;
  std::vector<char> in_;
};

std::string pipeline_of(Command c, const std::string& value) {
  std::string one;
  switch (c) {
    case kPing:
      load::resp::append_command(one, {"PING"});
      break;
    case kGet:
      load::resp::append_command(one, {"GET", "bench:k"});
      break;
    case kSet:
      load::resp::append_command(one, {"SET", "bench:k", value});
      break;
    case kXadd:
      load::resp::append_command(one, {"XADD", "bench:s", "*", "f", value});
      break;
    case kXrange:
      load::resp::append_command(one, {"XRANGE", "bench:r", "-", "+", "COUNT", "10"});
      break;
    case kXreadgroup:
      load::resp::append_command(one, {"XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "bench:q", ">"});
      break;
  }
  std::string all;
  for (int i = 0; i < kPipeline; ++i) all += one;
  return all;
}

void BM_Resp(benchmark::State& state) {
  const auto cmd = static_cast<Command>(state.range(0));
  const auto shards = static_cast<unsigned>(state.range(1));
  state.SetLabel(kNames[cmd]);
  Fixture f;
  if (!f.open(state, shards)) return;
  const std::string value(kValueBytes, 'v');

  // What the reads find: a key, a stream of 1,000 entries, and for
  // XREADGROUP a group with one new entry per request the run will make.
  std::string setup;
  int setup_n = 0;
  auto add = [&](std::initializer_list<std::string_view> args) {
    load::resp::append_command(setup, args);
    ++setup_n;
    if (setup_n == 1000) {
      if (!f.exchange(state, setup, setup_n)) return false;
      setup.clear();
      setup_n = 0;
    }
    return true;
  };
  if (!add({"SET", "bench:k", value})) return;
  for (int i = 0; i < 1000 && cmd == kXrange; ++i) {
    if (!add({"XADD", "bench:r", "*", "f", value})) return;
  }
  const int64_t rounds = smoke() ? 20 : static_cast<int64_t>(env_u64("REDCAR_BENCH_RESP_ROUNDS", 5000));
  if (cmd == kXreadgroup) {
    if (!add({"XGROUP", "CREATE", "bench:q", "g", "$", "MKSTREAM"})) return;
    for (int64_t i = 0; i < rounds * kPipeline; ++i) {
      if (!add({"XADD", "bench:q", "*", "f", value})) return;
    }
  }
  if (setup_n > 0 && !f.exchange(state, setup, setup_n)) return;

  const std::string batch = pipeline_of(cmd, value);
  // One round first, so that connection and first-use allocations (buffers
  // growing to size) are not counted per request.
  if (!f.exchange(state, batch, kPipeline)) return;
  int64_t done = 1;
  const uint64_t a0 = g_allocs.load(), b0 = g_alloc_bytes.load();
  g_trace_skip.store(static_cast<int64_t>(env_u64("REDCAR_BENCH_ALLOC_TRACE_SKIP", 0)));
  g_trace_left.store(static_cast<int64_t>(env_u64("REDCAR_BENCH_ALLOC_TRACE", 0)));
  for (auto _ : state) {
    if (done >= rounds) {
      state.SkipWithError("out of prepared entries (REDCAR_BENCH_RESP_ROUNDS)");
      break;
    }
    if (!f.exchange(state, batch, kPipeline)) return;
    ++done;
  }
  g_trace_left.store(0);
  const double requests = static_cast<double>(state.iterations()) * kPipeline;
  if (requests > 0) {
    state.counters["allocs_per_req"] = static_cast<double>(g_allocs.load() - a0) / requests;
    state.counters["alloc_bytes_per_req"] = static_cast<double>(g_alloc_bytes.load() - b0) / requests;
    state.counters["req/s"] = benchmark::Counter(requests, benchmark::Counter::kIsRate);
  }
}

void Args(benchmark::internal::Benchmark* b) {
  for (int c = kPing; c <= kXreadgroup; ++c) {
    for (int shards : {1, 2}) b->Args({c, shards});
  }
  // Bounded by the entries XREADGROUP's setup wrote.
  b->Iterations(smoke() ? 10 : static_cast<int64_t>(env_u64("REDCAR_BENCH_RESP_ROUNDS", 5000)) - 10);
  b->UseRealTime()->Unit(benchmark::kMicrosecond);
}
BENCHMARK(BM_Resp)->Apply(Args);

}  // namespace
}  // namespace redcar::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return redcar::bench::g_failed ? 1 : 0;
}
