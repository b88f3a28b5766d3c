// The crash test of the storage engine on the real disk (io_uring, O_DIRECT).
//
// Each cycle starts redcar_crash_child on one data folder, lets it append
// for a random while, kills it with SIGKILL, then opens the folder here and
// checks it against the expected state, which lives in this process and
// never in the database:
//
//   - every acknowledged event of this and earlier cycles is there, numbers
//     contiguous from 0 per stream, its content exactly what the child wrote;
//   - an event that was pending (submitted, not acknowledged) may be there
//     or not, but only intact and never after a gap;
//   - nothing beyond the pending events exists.
//
// What is found becomes the baseline of the next cycle: an unacknowledged
// event that survived is durable state from then on.
//
// Some cycles kill the child within its first milliseconds instead, while it
// is still recovering, so that a crash during recovery is covered too.
//
// Environment: REDCAR_CRASH_CYCLES (default 8), REDCAR_CRASH_SEED (default:
// random, printed), REDCAR_CRASH_DEADLINE_S (default 120 s, more for more
// cycles), REDCAR_CRASH_SEGMENT_BYTES (default 320 KiB),
// REDCAR_CRASH_CYCLES_PER_FOLDER (default 50: a long run starts over in an
// empty folder that often), REDCAR_CRASH_KEEP=1 keeps the data folder of a
// failed run.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <mutex>
#include <new>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/api/engine.h"
#include "tests/crash/crash_event.h"
#include "tests/support/temp_dir.h"

#ifndef REDCAR_CRASH_CHILD
#error "REDCAR_CRASH_CHILD must name the redcar_crash_child binary"
#endif

namespace redcar {
namespace {

using Clock = std::chrono::steady_clock;

constexpr unsigned kStreams = 64;
constexpr unsigned kShards = 2;
// Small, so that segments roll many times per cycle, and not a multiple of
// the engine's cold-read block (256 KiB), so that reads back from the disk
// cross both segment ends and read-block boundaries inside a segment.
constexpr uint64_t kDefaultSegmentBytes = 320 << 10;
// A long run starts over in an empty folder this often, so that the log and
// with it each cycle's recovery and verification time stay bounded.
constexpr uint64_t kDefaultCyclesPerFolder = 50;
constexpr int kMinKillDelayMs = 50;
constexpr int kMaxKillDelayMs = 400;
constexpr int kEarlyKillMaxMs = 40;       // a kill this soon after the start lands in recovery
constexpr unsigned kEarlyKillOneIn = 6;   // how often a cycle kills early
constexpr int kReadyTimeoutMs = 30000;    // a child that never gets ready is killed
constexpr int kVerifyTimeoutMs = 60000;   // reading everything back
constexpr int kCallTimeoutMs = 20000;     // one engine call
constexpr int kScanStallMs = 3000;       // the log scan delivered nothing for this long
constexpr uint64_t kWindowEvents = 16;    // events per random window read
constexpr size_t kMaxReportedErrors = 30;

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return std::strtoull(v, nullptr, 10);
}

// "12 ms", or "-" for a time that was never measured.
std::string ms_text(double ms) { return ms < 0 ? "-" : std::to_string(static_cast<long long>(ms + 0.5)) + " ms"; }

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// ---------------------------------------------------------------------------
// Processes and folders, each owned by a guard that cleans up on every path
// (REDCAR_CRASH_KEEP=1 keeps the folder of a failed run for a post-mortem).

// State the sentinel (below) must see even after this process has died:
// the child being run and what the test is doing. Lives in a shared mapping.
struct SharedState {
  std::atomic<pid_t> child{-1};
  char phase[256] = "starting";
};
SharedState* g_shared = [] {
  void* p = ::mmap(nullptr, sizeof(SharedState), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) std::abort();
  return new (p) SharedState;
}();

void set_phase(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void set_phase(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(g_shared->phase, sizeof(g_shared->phase), fmt, ap);
  va_end(ap);
}

// A process that outlives this one. If the test process dies without saying
// goodbye (a crash in the engine it hosts, say a stack overflow on a shard
// thread, or a kill by the test runner's timeout), the sentinel says what
// the test was doing, kills the child and removes the data folder (kept
// with REDCAR_CRASH_KEEP). Started before any other thread or process.
class Sentinel {
 public:
  explicit Sentinel(const std::string& dir) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    const bool keep = std::getenv("REDCAR_CRASH_KEEP") != nullptr;
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[1]);
      for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::signal(sig, SIG_IGN);
      char byte = 0;
      ssize_t n;
      while ((n = ::read(fds[0], &byte, 1)) < 0 && errno == EINTR) {
      }
      if (n == 1) ::_exit(0);  // goodbye: the test cleaned up itself
      std::fprintf(stderr, "\ncrash test: the test process died while %s\n", g_shared->phase);
      pid_t child = g_shared->child.exchange(-1);
      if (child > 0) ::kill(child, SIGKILL);  // also sent by the kernel (PR_SET_PDEATHSIG)
      if (keep) {
        std::fprintf(stderr, "data folder kept: %s\n", dir.c_str());
      } else {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
      }
      ::_exit(0);
    }
    ::close(fds[0]);
    if (pid > 0) {
      pid_ = pid;
      fd_ = fds[1];
    } else {
      ::close(fds[1]);
    }
  }
  ~Sentinel() {
    if (fd_ < 0) return;
    char bye = 'b';
    ssize_t ignored = ::write(fd_, &bye, 1);
    (void)ignored;
    ::close(fd_);
    ::waitpid(pid_, nullptr, 0);
  }
  Sentinel(const Sentinel&) = delete;
  Sentinel& operator=(const Sentinel&) = delete;

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
};

// Keeps the data folder of a failed run when REDCAR_CRASH_KEEP is set, to
// look at what recovery met.
struct KeepOnFailure {
  test::TempDir& dir;
  ~KeepOnFailure() {
    if (!::testing::Test::HasFailure() || !std::getenv("REDCAR_CRASH_KEEP")) return;
    dir.keep();
    std::printf("data folder kept: %s\n", dir.path().c_str());
  }
};

// Ends the whole test when it runs past its deadline, or at once when the
// engine stops answering: a hang anywhere (the child, recovery, a read) must
// not hang the test run. The sentinel then kills the child and cleans up.
class Watchdog {
 public:
  explicit Watchdog(std::chrono::seconds limit) {
    thread_ = std::thread([this, limit] {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, limit, [this] { return stop_; })) return;
      abort_test(("the deadline of " + std::to_string(limit.count()) + " s passed").c_str());
    });
  }
  ~Watchdog() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // For a state nothing can be undone from (an engine thread that no longer
  // answers cannot be stopped, so the engine cannot be closed).
  [[noreturn]] static void abort_test(const char* why) {
    std::fflush(stdout);
    std::fprintf(stderr, "crash test: %s while %s; aborting\n", why, g_shared->phase);
    pid_t pid = g_shared->child.exchange(-1);
    if (pid > 0) ::kill(pid, SIGKILL);
    std::_Exit(1);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// The child process with its stdout on a pipe. The destructor kills it (if
// it still runs) and reaps it, so an assertion failure leaves no process.
class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess() {
    kill_and_wait();
    if (fd_ >= 0) ::close(fd_);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Empty on success, else why not.
  std::string start(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return std::string("pipe2: ") + std::strerror(errno);
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
      ::close(fds[0]);
      ::close(fds[1]);
      return std::string("fork: ") + std::strerror(errno);
    }
    if (pid == 0) {
      // Only async-signal-safe calls from here to exec.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(126);
      if (::dup2(fds[1], STDOUT_FILENO) < 0) ::_exit(126);
      ::execv(argv[0], argv.data());
      static const char msg[] = "crash test: exec of the child failed\n";
      ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof(msg) - 1);
      (void)ignored;
      ::_exit(127);
    }
    ::close(fds[1]);
    fd_ = fds[0];
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
    pid_ = pid;
    g_shared->child = pid;
    return {};
  }

  int fd() const { return fd_; }
  bool running() const { return pid_ > 0; }

  // Reaps the child if it has exited; returns true then, with its status.
  bool try_reap(int* status) {
    if (pid_ <= 0) return false;
    pid_t r = ::waitpid(pid_, status, WNOHANG);
    if (r != pid_) return false;
    forget();
    return true;
  }

  // SIGKILL and reap; returns the wait status (or -1 if there was no child).
  int kill_and_wait() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    forget();
    return status;
  }

 private:
  void forget() {
    g_shared->child = -1;
    pid_ = -1;
  }
  pid_t pid_ = -1;
  int fd_ = -1;
};

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

// Splits what arrives on a non-blocking fd into lines.
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  bool eof() const { return eof_; }
  const std::string& partial() const { return buf_; }

  // Waits up to `timeout_ms` for data, then hands over every whole line.
  template <typename F>
  void pump(int timeout_ms, F&& on_line) {
    if (eof_) return;
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, timeout_ms);
    if (r <= 0) return;
    char chunk[65536];
    for (;;) {
      ssize_t n = ::read(fd_, chunk, sizeof(chunk));
      if (n > 0) {
        buf_.append(chunk, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) eof_ = true;
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    size_t start = 0;
    for (size_t nl; (nl = buf_.find('\n', start)) != std::string::npos; start = nl + 1) {
      on_line(std::string_view(buf_).substr(start, nl - start));
    }
    buf_.erase(0, start);
  }

 private:
  int fd_;
  std::string buf_;
  bool eof_ = false;
};

// ---------------------------------------------------------------------------
// The expected state, kept outside the database.

struct StreamModel {
  uint64_t durable = 0;      // events found by the last verification: they must stay
  uint64_t acked_end = 0;    // every number below was acknowledged or found
  uint64_t pending_end = 0;  // no number at or above was ever submitted
};

struct CycleLog {
  bool ready = false;
  Clock::time_point ready_at;
  double first_ack_ms = -1;  // after READY
  long long child_open_ms = -1;
  uint64_t acked = 0;    // acknowledgements seen this cycle
  uint64_t pending = 0;  // appends submitted this cycle
  std::vector<std::string> errors;
};

// Applies one line of the child's conversation to the model.
void on_child_line(std::string_view line, std::vector<StreamModel>& model, CycleLog& cyc) {
  std::istringstream in{std::string(line)};
  std::string kind;
  in >> kind;
  auto bad = [&](const std::string& why) { cyc.errors.push_back("child said '" + std::string(line) + "': " + why); };
  if (kind == "READY") {
    in >> cyc.child_open_ms;
    cyc.ready = true;
    cyc.ready_at = Clock::now();
    return;
  }
  unsigned s = 0;
  unsigned long long n = 0;
  if (!(in >> s >> n) || s >= model.size()) return bad("not a line of the protocol");
  StreamModel& m = model[s];
  if (kind == "R") {
    if (n != m.durable) bad("the last verification found " + std::to_string(m.durable) + " events");
  } else if (kind == "P") {
    if (n != m.pending_end || m.pending_end != m.acked_end) {
      return bad("expected the next pending number to be " + std::to_string(m.pending_end) + " with none in flight");
    }
    m.pending_end = n + 1;
    cyc.pending++;
  } else if (kind == "A") {
    if (n + 1 != m.pending_end || n != m.acked_end) {
      return bad("acknowledged an event that is not the one in flight (pending end " + std::to_string(m.pending_end) +
                 ", acked end " + std::to_string(m.acked_end) + ")");
    }
    m.acked_end = n + 1;
    if (cyc.acked++ == 0) cyc.first_ack_ms = ms_since(cyc.ready_at);
  } else {
    bad("unknown line");
  }
}

// ---------------------------------------------------------------------------
// Reading the folder back.

// Runs one engine call and waits for its answer. A shard that does not
// answer within kCallTimeoutMs is stuck (busy forever or waiting for
// nothing): the engine cannot even be closed then, so the test ends here.
template <typename T, typename F>
Result<T> call(const std::string& what, F&& f) {
  auto p = std::make_shared<std::promise<Result<T>>>();
  auto fut = p->get_future();
  f([p](Result<T> r) { p->set_value(std::move(r)); });
  if (fut.wait_for(std::chrono::milliseconds(kCallTimeoutMs)) != std::future_status::ready) {
    ADD_FAILURE() << "the engine did not answer " << what << " within " << kCallTimeoutMs << " ms: a shard is stuck";
    Watchdog::abort_test(("the engine did not answer " + what).c_str());
  }
  return fut.get();
}

// Every shard still answers (say, after a read that never finished).
void check_shards_answer(Engine& engine) {
  for (unsigned sh = 0; sh < engine.shard_count(); ++sh) {
    for (unsigned s = 0; s < kStreams; ++s) {
      std::string name = crash::stream_name(s);
      if (engine.shard_of(name) != sh) continue;
      auto info = call<StreamInfo>("stream_info " + name + " (is shard " + std::to_string(sh) + " alive?)",
                                   [&](auto cb) { engine.stream_info(name, cb); });
      (void)info;
      break;
    }
  }
}

struct Found {
  std::vector<uint64_t> count;  // events per stream
  uint64_t total = 0;
  std::vector<std::string> errors;  // the first kMaxReportedErrors
  uint64_t error_count = 0;
  void error(std::string e) {
    ++error_count;
    if (errors.size() < kMaxReportedErrors) errors.push_back(std::move(e));
  }
};

std::string check_event(const Event& e, uint64_t seed, unsigned s, uint64_t want_number) {
  std::string where = crash::stream_name(s) + " event " + std::to_string(want_number);
  if (e.stream != crash::stream_name(s)) return where + ": belongs to stream '" + e.stream + "'";
  if (e.number != want_number) return where + ": read back as number " + std::to_string(e.number) + " (gap or reorder)";
  if (e.payload.type != crash::kEventType) return where + ": type '" + e.payload.type + "'";
  if (e.payload.data != crash::event_data(seed, s, want_number)) {
    return where + ": content differs from what was written: " + crash::describe(e.payload.data);
  }
  return {};
}

// Reads every stream of the folder: the index's view (stream_info, reads
// near the end and of a random window) and the log's view (one subscription over each shard's whole
// log), checking each event's number and content.
Found read_back(Engine& engine, uint64_t seed, uint64_t cycle) {
  Found f;
  std::mt19937_64 wrng(seed ^ (cycle * 0x9e3779b97f4a7c15ull));
  f.count.assign(kStreams, 0);

  auto names = call<std::vector<std::string>>("list_streams", [&](auto cb) { engine.list_streams("", cb); });
  if (!names) {
    f.error("list_streams: " + names.status().to_string());
    return f;
  }
  for (auto& n : *names) {
    unsigned s = 0;
    if (!crash::parse_stream_name(n, &s) || s >= kStreams) f.error("unexpected stream '" + n + "'");
  }

  for (unsigned s = 0; s < kStreams; ++s) {
    std::string name = crash::stream_name(s);
    auto info = call<StreamInfo>("stream_info " + name, [&](auto cb) { engine.stream_info(name, cb); });
    if (!info) {
      f.error("stream_info " + name + ": " + info.status().to_string());
      continue;
    }
    uint64_t k = info->exists ? info->next_number : 0;
    if (info->exists && (info->first_number != 0 || info->length != k)) {
      f.error(name + ": first " + std::to_string(info->first_number) + ", length " + std::to_string(info->length) +
              ", next " + std::to_string(k) + " (nothing was trimmed or deleted)");
    }
    f.count[s] = k;
    f.total += k;
    // The last few events through the stream index, then nothing past them.
    ReadSpec spec;
    spec.from_number = k > 3 ? k - 3 : 0;
    auto rr = call<ReadResult>("read " + name + " from " + std::to_string(spec.from_number), [&](auto cb) { engine.read(name, spec, cb); });
    if (!rr) {
      f.error("read " + name + ": " + rr.status().to_string());
      continue;
    }
    if (rr->next_number != k) f.error(name + ": read says next " + std::to_string(rr->next_number) + ", info " + std::to_string(k));
    if (rr->events.size() != k - spec.from_number) {
      f.error(name + ": reading from " + std::to_string(spec.from_number) + " gave " + std::to_string(rr->events.size()) +
              " events, want " + std::to_string(k - spec.from_number));
    }
    for (size_t i = 0; i < rr->events.size(); ++i) {
      if (auto e = check_event(rr->events[i], seed, s, spec.from_number + i); !e.empty()) f.error("read: " + e);
    }
    // A window somewhere in the middle, on a quarter of the streams per
    // cycle: the sparse index and reads from the disk (cold).
    if (k == 0 || s % 4 != cycle % 4) continue;
    ReadSpec window;
    window.from_number = wrng() % k;
    window.count = kWindowEvents;
    auto wr = call<ReadResult>("read " + name + " from " + std::to_string(window.from_number), [&](auto cb) { engine.read(name, window, cb); });
    if (!wr) {
      f.error("read " + name + " from " + std::to_string(window.from_number) + ": " + wr.status().to_string());
      continue;
    }
    const uint64_t want = std::min(kWindowEvents, k - window.from_number);
    if (wr->events.size() != want) {
      f.error(name + ": reading " + std::to_string(kWindowEvents) + " from " + std::to_string(window.from_number) +
              " gave " + std::to_string(wr->events.size()) + " events, want " + std::to_string(want));
    }
    for (size_t i = 0; i < wr->events.size(); ++i) {
      if (auto e = check_event(wr->events[i], seed, s, window.from_number + i); !e.empty()) f.error("read: " + e);
    }
  }

  // Every event of every shard, in log order.
  struct Scan {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<uint64_t> seen;
    std::vector<uint64_t> want;
    std::vector<std::string> errors;
    Status end;
    bool ended = false;
    bool complete() const {
      for (size_t i = 0; i < want.size(); ++i) {
        if (seen[i] < want[i]) return false;
      }
      return true;
    }
  };
  auto scan = std::make_shared<Scan>();
  scan->seen.assign(kStreams, 0);
  scan->want = f.count;
  auto sub = engine.subscribe_all(
      "", true,
      [scan, seed](std::vector<EventPtr> events, std::function<void()> more) {
        std::lock_guard lock(scan->mu);
        for (auto& ep : events) {
          unsigned s = 0;
          if (!crash::parse_stream_name(ep->stream, &s) || s >= kStreams) {
            scan->errors.push_back("log holds an event of unexpected stream '" + ep->stream + "'");
            continue;
          }
          uint64_t n = scan->seen[s]++;
          if (n >= scan->want[s]) {
            scan->errors.push_back(crash::stream_name(s) + ": the log holds event " + std::to_string(ep->number) +
                                   " past the index's end " + std::to_string(scan->want[s]));
            continue;
          }
          if (auto e = check_event(*ep, seed, s, n); !e.empty()) scan->errors.push_back("log: " + e);
        }
        if (scan->errors.size() > kMaxReportedErrors) scan->errors.resize(kMaxReportedErrors);
        scan->cv.notify_all();
        more();
      },
      [scan](Status s) {
        std::lock_guard lock(scan->mu);
        scan->end = s;
        scan->ended = true;
        scan->cv.notify_all();
      });
  {
    // Wait until every stream is complete, the subscription ends, or it
    // stalls: no new event for a while (events it skipped never come).
    std::unique_lock lock(scan->mu);
    const auto give_up = Clock::now() + std::chrono::milliseconds(kVerifyTimeoutMs);
    uint64_t last_total = 0;
    auto last_progress = Clock::now();
    for (;;) {
      if (scan->complete() || scan->ended) break;
      const auto now = Clock::now();
      if (now >= give_up || now - last_progress > std::chrono::milliseconds(kScanStallMs)) break;
      scan->cv.wait_for(lock, std::chrono::milliseconds(100));
      uint64_t total = 0;
      for (auto n : scan->seen) total += n;
      if (total != last_total) {
        last_total = total;
        last_progress = Clock::now();
      }
    }
    for (auto& e : scan->errors) f.error(e);
    if (scan->ended && !scan->complete()) f.error("the log subscription ended early: " + scan->end.to_string());
    if (!scan->complete()) {
      for (unsigned s = 0; s < kStreams; ++s) {
        if (scan->seen[s] < scan->want[s]) {
          f.error(crash::stream_name(s) + ": the log gave " + std::to_string(scan->seen[s]) +
                  " events, the index says " + std::to_string(scan->want[s]));
        }
      }
    }
  }
  sub->cancel();
  check_shards_answer(engine);
  return f;
}

// ---------------------------------------------------------------------------

TEST(Crash, KillAndRecoverRepeatedly) {
  const uint64_t cycles = env_u64("REDCAR_CRASH_CYCLES", 8);
  const uint64_t seed = env_u64("REDCAR_CRASH_SEED", std::random_device{}());
  const uint64_t segment_bytes = env_u64("REDCAR_CRASH_SEGMENT_BYTES", kDefaultSegmentBytes);
  const uint64_t cycles_per_folder = std::max<uint64_t>(1, env_u64("REDCAR_CRASH_CYCLES_PER_FOLDER", kDefaultCyclesPerFolder));
  const uint64_t deadline_s = env_u64("REDCAR_CRASH_DEADLINE_S", 120 + (cycles > 8 ? (cycles - 8) * 10 : 0));
  spdlog::set_level(spdlog::level::warn);

  test::TempDir dir("redcar-crash");
  ASSERT_TRUE(dir.ok()) << "mkdtemp: " << std::strerror(errno);
  KeepOnFailure keep_on_failure{dir};
  Sentinel sentinel(dir.path());
  Watchdog watchdog{std::chrono::seconds(deadline_s)};
  std::printf("crash test: seed %llu (REDCAR_CRASH_SEED to repeat), %llu cycles, %u streams, %u shards, "
              "segments of %llu KiB, data %s, deadline %llu s\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(cycles), kStreams, kShards,
              static_cast<unsigned long long>(segment_bytes >> 10), dir.path().c_str(),
              static_cast<unsigned long long>(deadline_s));

  std::mt19937_64 rng(seed);
  std::vector<StreamModel> model(kStreams);
  uint64_t acked_total = 0;
  uint64_t survived_unacked_total = 0;
  const auto test_start = Clock::now();

  for (uint64_t cycle = 1; cycle <= cycles && !HasFailure(); ++cycle) {
    if (cycle > 1 && (cycle - 1) % cycles_per_folder == 0) {
      std::error_code ec;
      std::filesystem::remove_all(dir.path(), ec);
      ASSERT_TRUE(std::filesystem::create_directory(dir.path(), ec)) << dir.path() << ": " << ec.message();
      model.assign(kStreams, StreamModel{});
      std::printf("cycle %3llu: starting over in an empty folder (every %llu cycles)\n",
                  static_cast<unsigned long long>(cycle), static_cast<unsigned long long>(cycles_per_folder));
    }
    for (auto& m : model) m.acked_end = m.pending_end = m.durable;
    const bool early = rng() % kEarlyKillOneIn == 0;
    const int delay_ms = early ? static_cast<int>(rng() % (kEarlyKillMaxMs + 1))
                               : kMinKillDelayMs + static_cast<int>(rng() % (kMaxKillDelayMs - kMinKillDelayMs + 1));

    // --- run the child and kill it -----------------------------------------
    CycleLog cyc;
    std::string child_fate;
    {
      ChildProcess child;
      std::vector<std::string> args = {REDCAR_CRASH_CHILD,
                                       "--data-dir", dir.path(),
                                       "--shards", std::to_string(kShards),
                                       "--segment-bytes", std::to_string(segment_bytes),
                                       "--fsync", "always",
                                       "--streams", std::to_string(kStreams),
                                       "--seed", std::to_string(seed)};
      set_phase("running the child of cycle %llu (seed %llu)", static_cast<unsigned long long>(cycle),
                static_cast<unsigned long long>(seed));
      auto started = child.start(args);
      ASSERT_TRUE(started.empty()) << started;
      const auto spawn = Clock::now();
      LineReader reader(child.fd());
      auto on_line = [&](std::string_view line) { on_child_line(line, model, cyc); };
      Clock::time_point kill_at = early ? spawn + std::chrono::milliseconds(delay_ms) : Clock::time_point::max();
      for (;;) {
        const auto now = Clock::now();
        if (now >= kill_at) break;
        if (!cyc.ready && !early && now - spawn > std::chrono::milliseconds(kReadyTimeoutMs)) {
          FAIL() << "cycle " << cycle << ": the child was not ready after " << kReadyTimeoutMs << " ms";
        }
        int status = 0;
        if (child.try_reap(&status)) {
          reader.pump(0, on_line);
          while (!reader.eof()) reader.pump(100, on_line);
          FAIL() << "cycle " << cycle << ": the child " << describe_wait_status(status)
                 << " before it was killed (see its stderr above)";
        }
        int wait_ms = 20;
        if (kill_at != Clock::time_point::max()) {
          wait_ms = std::min<int>(wait_ms, static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(kill_at - now).count()));
        }
        reader.pump(std::max(wait_ms, 0), on_line);
        if (!early && cyc.ready && kill_at == Clock::time_point::max()) {
          kill_at = Clock::now() + std::chrono::milliseconds(delay_ms);
        }
      }
      int status = child.kill_and_wait();
      child_fate = describe_wait_status(status);
      // Whatever the child wrote before it died is still in the pipe.
      const auto drain_start = Clock::now();
      while (!reader.eof() && ms_since(drain_start) < 5000) reader.pump(100, on_line);
      ASSERT_TRUE(reader.eof()) << "cycle " << cycle << ": the child's stdout did not close after its death";
      if (!reader.partial().empty()) cyc.errors.push_back("a torn line: '" + reader.partial() + "'");
      EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
          << "cycle " << cycle << ": the child " << child_fate << " instead of dying of our SIGKILL";
    }
    for (auto& e : cyc.errors) ADD_FAILURE() << "cycle " << cycle << ": " << e;
    ASSERT_TRUE(cyc.errors.empty());
    acked_total += cyc.acked;

    // --- open the folder here and check it ------------------------------------
    EngineOptions eo;
    eo.data_dir = dir.path();
    eo.shards = kShards;
    eo.segment_bytes = segment_bytes;
    eo.fsync = FsyncMode::kAlways;
    eo.hot_cache_bytes = 1 << 20;
    set_phase("opening the folder after the kill of cycle %llu (seed %llu, kill %d ms after %s)",
              static_cast<unsigned long long>(cycle), static_cast<unsigned long long>(seed), delay_ms,
              early ? "start" : "ready");
    const auto open_start = Clock::now();
    auto opened = Engine::open(eo);
    const double open_ms = ms_since(open_start);
    ASSERT_TRUE(opened) << "cycle " << cycle << " (seed " << seed << "): the engine refuses to open after the crash: "
                        << opened.status().to_string();
    Engine& engine = **opened;
    RecoveryReport rep;
    for (unsigned i = 0; i < engine.shard_count(); ++i) {
      const auto& r = engine.recovery_report(i);
      rep.segments += r.segments;
      rep.records += r.records;
      rep.bytes_scanned += r.bytes_scanned;
      rep.truncated_bytes += r.truncated_bytes;
      if (!r.repaired.empty()) ADD_FAILURE() << "cycle " << cycle << ": shard " << i << " repaired: " << r.repaired;
    }

    set_phase("reading back cycle %llu (seed %llu, kill %d ms after %s)", static_cast<unsigned long long>(cycle),
              static_cast<unsigned long long>(seed), delay_ms, early ? "start" : "ready");
    const auto verify_start = Clock::now();
    Found found = read_back(engine, seed, cycle);
    const double verify_ms = ms_since(verify_start);
    // The verdict against the model comes first: it is what matters most.
    Found verdict;
    uint64_t unacked = 0;
    uint64_t survived = 0;
    for (unsigned s = 0; s < kStreams; ++s) {
      const StreamModel& m = model[s];
      const uint64_t k = found.count[s];
      if (k < m.acked_end) {
        verdict.error("LOST: " + crash::stream_name(s) + " has " + std::to_string(k) + " events but events " +
                      std::to_string(k) + ".." + std::to_string(m.acked_end - 1) + " were acknowledged" +
                      (k < m.durable ? " (the previous cycle found " + std::to_string(m.durable) + ")" : ""));
      }
      if (k > m.pending_end) {
        verdict.error("PHANTOM: " + crash::stream_name(s) + " has " + std::to_string(k) +
                      " events but only numbers below " + std::to_string(m.pending_end) + " were ever submitted");
      }
      unacked += m.pending_end - m.acked_end;
      if (k > m.acked_end) survived += k - m.acked_end;
    }
    for (auto& e : found.errors) verdict.error(e);
    verdict.error_count += found.error_count - found.errors.size();
    survived_unacked_total += survived;

    std::printf("cycle %3llu/%llu: kill %3d ms after %s (child open %s, first ack %s after ready), %s; "
                "acked %llu (so far %llu), "
                "in flight at kill %llu of which %llu survived; recovered %llu events, open %.1f ms "
                "(%llu segments, %.1f MiB scanned, %llu B torn tail cut), verify %.0f ms\n",
                static_cast<unsigned long long>(cycle), static_cast<unsigned long long>(cycles), delay_ms,
                early ? "start (in recovery)" : "ready", ms_text(static_cast<double>(cyc.child_open_ms)).c_str(), ms_text(cyc.first_ack_ms).c_str(), child_fate.c_str(),
                static_cast<unsigned long long>(cyc.acked), static_cast<unsigned long long>(acked_total),
                static_cast<unsigned long long>(unacked), static_cast<unsigned long long>(survived),
                static_cast<unsigned long long>(found.total), open_ms, static_cast<unsigned long long>(rep.segments),
                static_cast<double>(rep.bytes_scanned) / (1 << 20), static_cast<unsigned long long>(rep.truncated_bytes),
                verify_ms);
    std::fflush(stdout);

    if (verdict.error_count > 0) {
      std::string all;
      for (auto& e : verdict.errors) all += "\n  " + e;
      ADD_FAILURE() << "cycle " << cycle << " (seed " << seed << ", kill " << delay_ms << " ms after "
                    << (early ? "start" : "ready") << ") found " << verdict.error_count << " problems"
                    << (verdict.error_count > verdict.errors.size()
                            ? " (the first " + std::to_string(verdict.errors.size()) + " below)"
                            : "")
                    << ":" << all;
    }
    for (unsigned s = 0; s < kStreams; ++s) model[s].durable = found.count[s];
    set_phase("closing the engine of cycle %llu (seed %llu)", static_cast<unsigned long long>(cycle),
              static_cast<unsigned long long>(seed));
    engine.stop();
  }

  std::printf("crash test: %llu events acknowledged over the run, %llu unacknowledged ones survived, "
              "%llu events on disk at the end, %.1f s\n",
              static_cast<unsigned long long>(acked_total), static_cast<unsigned long long>(survived_unacked_total),
              static_cast<unsigned long long>([&] {
                uint64_t t = 0;
                for (auto& m : model) t += m.durable;
                return t;
              }()),
              ms_since(test_start) / 1000);
}

}  // namespace
}  // namespace redcar
