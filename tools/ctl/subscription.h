// A subscription that outlives the server restarting. It calls Subscribe,
// hands each event to a callback, and when the call fails with a transient
// code (UNAVAILABLE, a broken stream, ...) or ends early, it waits (backoff,
// 100 ms doubling to 5 s, with jitter), dials afresh and resumes right after
// the last event delivered: no gap, no duplicate.
//
// One stream: resumes at last+1. A prefix or all streams, which the server
// can only start at the beginning or the end: resumes at the beginning and
// skips, per stream, every event numbered at or below the last one delivered
// for that stream. `--from-end` for those records each existing stream's
// last number first and skips up to it, so the same rule serves both.
// Single-threaded: run() blocks until the end, a stop, or a lasting error.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "redcar/v1/events.grpc.pb.h"
#include "tools/ctl/backoff.h"
#include "tools/ctl/endpoint.h"

namespace redcar::ctl {

struct SubscribeSpec {
  enum class Kind { kStream, kPrefix, kAll };
  Kind kind = Kind::kStream;
  std::string name;              // the stream, or the prefix
  std::optional<uint64_t> from;  // one stream: first number wanted; absent: the beginning
  bool from_end = false;         // only what is appended from now on
  std::optional<uint64_t> to;    // one stream: end after this number
};

class Subscription {
 public:
  // `verb` names the notes printed on stderr.
  Subscription(Connection& conn, SubscribeSpec spec, std::string verb);

  // Returns false from the callback to stop. Returns OK at `to`, after a
  // stop, or the lasting error that ended it.
  grpc::Status run(const std::function<bool(const v1::RecordedEvent&)>& on_event);

 private:
  grpc::Status resolve_from_end();
  v1::SubscribeRequest request() const;
  bool wanted(const v1::RecordedEvent& e) const;
  bool reached_end() const;

  Connection& conn_;
  SubscribeSpec spec_;
  std::string verb_;
  Backoff backoff_;
  // Per stream, the highest number delivered (or, from the end, the last
  // number the stream held when the subscription started).
  std::map<std::string, uint64_t> last_;
};

}  // namespace redcar::ctl
