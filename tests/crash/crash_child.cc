// redcar_crash_child: the writer the crash test kills. It opens the engine
// on a data folder and appends to N streams until killed (or until
// --max-events), keeping one append per stream in flight, so that with many
// streams group commit batches many appends per flush.
//
// It tells its parent what it does on stdout, one line per write(2) so that
// a SIGKILL can cut the conversation only between lines:
//
//   R <stream> <next>     after recovery: the number the stream's next event gets
//   READY <open_ms>       recovery done, appends start
//   P <stream> <number>   written before the append is submitted (pending)
//   A <stream> <number>   written after the engine acknowledged it (durable)
//   DONE                  --max-events reached, everything acknowledged
//
// Event numbers are predictable: each append carries the expected version
// (no stream for event 0, else exactly the previous number), and the
// acknowledged number is checked. Any failure is printed to stderr and
// ends the process with status 2 (3 if the engine does not open).
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "engine/api/engine.h"
#include "tests/crash/crash_event.h"

namespace {

using namespace redcar;

// One line, one write(2): a pipe write of at most PIPE_BUF bytes is atomic.
void say(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void say(const char* fmt, ...) {
  char buf[128];
  va_list ap;
  va_start(ap, fmt);
  int n = std::vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
  va_end(ap);
  if (n < 0 || n >= static_cast<int>(sizeof(buf)) - 1) std::abort();
  buf[n++] = '\n';
  for (;;) {
    ssize_t w = ::write(STDOUT_FILENO, buf, static_cast<size_t>(n));
    if (w == n) return;
    if (w < 0 && errno == EINTR) continue;
    // A short write to a pipe only happens on a signal or when the reader is
    // gone; either way nobody may rely on this line any more.
    std::fprintf(stderr, "redcar_crash_child: write to stdout failed (%zd of %d bytes)\n", w, n);
    std::_Exit(2);
  }
}

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "redcar_crash_child: %s\n", why.c_str());
  std::_Exit(2);
}

struct Completion {
  unsigned stream = 0;
  uint64_t number = 0;
  Result<AppendResult> result = Status(Code::kUnavailable, "no answer");
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"redcar_crash_child: appends checkable events until killed"};
  EngineOptions eo;
  eo.shards = 2;
  eo.segment_bytes = 256 << 10;
  std::string fsync = "always";
  unsigned streams = 64;
  uint64_t seed = 1;
  uint64_t max_events = 0;
  std::string log_level = "warn";
  app.add_option("--data-dir", eo.data_dir, "data folder")->required();
  app.add_option("--shards", eo.shards, "shards")->capture_default_str();
  app.add_option("--segment-bytes", eo.segment_bytes, "segment file size")->capture_default_str();
  app.add_option("--hot-cache-bytes", eo.hot_cache_bytes, "hot cache per shard")->capture_default_str();
  app.add_option("--fsync", fsync, "always | interval:MS | never")->capture_default_str();
  app.add_option("--streams", streams, "streams written, one append in flight on each")
      ->check(CLI::Range(1u, 1000u))
      ->capture_default_str();
  app.add_option("--seed", seed, "seed of the event contents")->capture_default_str();
  app.add_option("--max-events", max_events, "stop after this many appends (0: until killed)")->capture_default_str();
  app.add_option("--log-level", log_level, "engine log level (to stderr)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // stdout is the conversation with the parent: the engine logs elsewhere.
  spdlog::set_default_logger(spdlog::stderr_color_mt("crash-child"));
  spdlog::set_level(spdlog::level::from_str(log_level));
  if (!parse_fsync_mode(fsync, &eo.fsync, &eo.fsync_interval_ms)) die("bad --fsync '" + fsync + "'");

  auto t0 = std::chrono::steady_clock::now();
  auto opened = Engine::open(eo);
  if (!opened) {
    std::fprintf(stderr, "redcar_crash_child: cannot open %s: %s\n", eo.data_dir.c_str(),
                 opened.status().to_string().c_str());
    return 3;
  }
  Engine& engine = **opened;
  auto open_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();

  std::vector<uint64_t> next(streams, 0);
  for (unsigned s = 0; s < streams; ++s) {
    std::promise<Result<StreamInfo>> p;
    auto f = p.get_future();
    engine.stream_info(crash::stream_name(s), [&p](Result<StreamInfo> r) { p.set_value(std::move(r)); });
    auto info = f.get();
    if (!info) die("stream_info " + crash::stream_name(s) + ": " + info.status().to_string());
    next[s] = info->exists ? info->next_number : 0;
    say("R %u %llu", s, static_cast<unsigned long long>(next[s]));
  }
  say("READY %lld", static_cast<long long>(open_ms));

  std::mutex mu;
  std::condition_variable cv;
  std::deque<Completion> done;
  uint64_t submitted = 0;
  uint64_t in_flight = 0;

  auto submit = [&](unsigned s) {
    uint64_t n = next[s];
    EventData ev;
    ev.type = crash::kEventType;
    ev.data = crash::event_data(seed, s, n);
    AppendOptions opt;
    opt.expected = n == 0 ? ExpectedVersion::no_stream() : ExpectedVersion::exact(n - 1);
    say("P %u %llu", s, static_cast<unsigned long long>(n));
    ++submitted;
    ++in_flight;
    engine.append(crash::stream_name(s), {std::move(ev)}, opt, [&, s, n](Result<AppendResult> r) {
      std::lock_guard lock(mu);
      done.push_back(Completion{s, n, std::move(r)});
      cv.notify_one();
    });
  };

  for (unsigned s = 0; s < streams && (max_events == 0 || submitted < max_events); ++s) submit(s);
  while (in_flight > 0) {
    Completion c;
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return !done.empty(); });
      c = std::move(done.front());
      done.pop_front();
    }
    --in_flight;
    std::string what = crash::stream_name(c.stream) + " event " + std::to_string(c.number);
    if (!c.result) die("append " + what + " failed: " + c.result.status().to_string());
    if (c.result->first_number != c.number || c.result->last_number != c.number || c.result->duplicate) {
      die("append " + what + " was acknowledged as number " + std::to_string(c.result->first_number) +
          (c.result->duplicate ? " (duplicate)" : ""));
    }
    say("A %u %llu", c.stream, static_cast<unsigned long long>(c.number));
    next[c.stream] = c.number + 1;
    if (max_events == 0 || submitted < max_events) submit(c.stream);
  }
  say("DONE");
  engine.stop();
  return 0;
}
