// Helpers shared by the tests of the Engine API: synchronous wrappers over
// its callbacks (each wait has a timeout, so a lost callback fails the test
// rather than hanging it), engine options for the in-memory disk, a
// temporary folder for real-disk tests, and event builders.
//
// Callbacks run on shard threads; everything here is safe to use from them.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/api/engine.h"
#include "engine/io/mem_disk.h"
#include "tests/support/temp_dir.h"

namespace redcar::test {

inline constexpr std::chrono::seconds kCallTimeout{10};

// Runs `f(cb)` and waits for `cb` to be called. A second call of the same
// callback is reported as a failure.
template <typename T, typename F>
Result<T> call(F&& f) {
  auto p = std::make_shared<std::promise<Result<T>>>();
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto fut = p->get_future();
  f([p, calls](Result<T> r) {
    if (calls->fetch_add(1) != 0) {
      ADD_FAILURE() << "an engine callback ran twice";
      return;
    }
    p->set_value(std::move(r));
  });
  if (fut.wait_for(kCallTimeout) != std::future_status::ready) {
    ADD_FAILURE() << "engine call timed out";
    return Status(Code::kUnavailable, "test: engine call timed out");
  }
  return fut.get();
}

// Polls `pred` until it holds or `timeout` passes.
template <typename P>
bool eventually(P pred, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

inline void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// Two shards on the in-memory disk with the smallest segments (64 KiB).
inline EngineOptions mem_options(io::MemFs& fs, unsigned shards = 2) {
  EngineOptions o;
  o.data_dir = "/data";
  o.shards = shards;
  o.segment_bytes = limits::kMinSegmentBytes;
  o.hot_cache_bytes = 1 << 20;
  o.mem_fs = &fs;
  return o;
}

// Opens an engine; null (with a failure recorded) if it does not open.
inline std::unique_ptr<Engine> open_engine(const EngineOptions& o) {
  auto e = Engine::open(o);
  if (!e) {
    ADD_FAILURE() << "Engine::open: " << e.status().to_string();
    return nullptr;
  }
  return std::move(*e);
}


// --- events ---

inline EventData event(std::string data, std::string type = "t") {
  EventData e;
  e.type = std::move(type);
  e.data = std::move(data);
  return e;
}

inline EventData fields_event(std::vector<Field> fields) {
  EventData e;
  e.fields = std::move(fields);
  return e;
}

inline EventData idem_event(std::string data, std::string idempotency_id) {
  EventData e = event(std::move(data));
  e.idempotency_id = std::move(idempotency_id);
  return e;
}

// `n` events whose data is prefix + their index.
inline std::vector<EventData> events(size_t n, const std::string& prefix = "e") {
  std::vector<EventData> out;
  for (size_t i = 0; i < n; ++i) out.push_back(event(prefix + std::to_string(i)));
  return out;
}

inline AppendOptions explicit_id(uint64_t ms, uint64_t seq) {
  AppendOptions o;
  o.id_mode = IdMode::kExplicit;
  o.id = {ms, seq};
  return o;
}

inline AppendOptions expect(ExpectedVersion v) {
  AppendOptions o;
  o.expected = v;
  return o;
}

// --- synchronous calls ---

inline Result<AppendResult> append(Engine& e, const std::string& stream, std::vector<EventData> evs,
                                   AppendOptions opt = {}) {
  return call<AppendResult>([&](auto cb) { e.append(stream, std::move(evs), opt, cb); });
}

inline Result<AppendResult> append1(Engine& e, const std::string& stream, std::string data, AppendOptions opt = {}) {
  return append(e, stream, {event(std::move(data))}, opt);
}

inline Result<ReadResult> read(Engine& e, const std::string& stream, ReadSpec spec = {}) {
  return call<ReadResult>([&](auto cb) { e.read(stream, spec, cb); });
}

inline Result<StreamInfo> info(Engine& e, const std::string& stream) {
  return call<StreamInfo>([&](auto cb) { e.stream_info(stream, cb); });
}

inline Result<uint64_t> trim(Engine& e, const std::string& stream, TrimSpec spec) {
  return call<uint64_t>([&](auto cb) { e.trim(stream, spec, cb); });
}

inline ReadSpec numbers_spec(uint64_t from, uint64_t to = UINT64_MAX, uint64_t count = UINT64_MAX,
                             bool reverse = false) {
  ReadSpec s;
  s.from_number = from;
  s.to_number = to;
  s.count = count;
  s.reverse = reverse;
  return s;
}

inline ReadSpec ids_spec(StreamId from, StreamId to, uint64_t count = UINT64_MAX, bool reverse = false) {
  ReadSpec s;
  s.by_id = true;
  s.from_id = from;
  s.to_id = to;
  s.count = count;
  s.reverse = reverse;
  return s;
}

inline std::vector<uint64_t> numbers_of(const std::vector<Event>& evs) {
  std::vector<uint64_t> out;
  for (auto& e : evs) out.push_back(e.number);
  return out;
}

inline std::vector<uint64_t> range_of(uint64_t from, uint64_t to_exclusive) {
  std::vector<uint64_t> out;
  for (uint64_t n = from; n < to_exclusive; ++n) out.push_back(n);
  return out;
}

// Where `got` departs from from, from+1, ..., to-1 (gaps, repeats, a
// wrong length), for failure messages; empty when it does not.
inline std::string sequence_errors(const std::vector<uint64_t>& got, uint64_t from, uint64_t to) {
  std::string out;
  int reported = 0;
  uint64_t want = from;
  for (size_t i = 0; i < got.size() && reported < 5; ++i, ++want) {
    if (got[i] == want) continue;
    out += "at " + std::to_string(i) + ": got " + std::to_string(got[i]) + ", wanted " + std::to_string(want) + "; ";
    want = got[i];
    reported++;
  }
  if (got.size() != to - from) {
    out += "got " + std::to_string(got.size()) + " numbers, wanted " + std::to_string(to - from);
  }
  return out;
}

}  // namespace redcar::test
