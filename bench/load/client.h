// The contract between the driver and a protocol client.
//
// A client owns its connections (or channels) and a fixed number of slots:
// one slot is one operation that may be outstanding at a time (a connection,
// a place in a connection's pipeline, a concurrent gRPC call). The driver
// calls issue(slot, ...) only for a slot that is idle, from any thread; the
// client answers by calling Sink::done(slot, result) exactly once, from any
// thread (its event loop or gRPC's), possibly before issue() returns. The
// driver may call issue() again from inside done().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "histogram.h"

namespace redcar::load {

struct OpResult {
  bool ok = true;
  // The slot cannot be used again (its connection is gone): the driver
  // stops issuing on it.
  bool fatal = false;
  uint64_t events = 1;  // events written or read by the operation
  uint64_t bytes = 0;   // payload bytes written or read
  std::string_view error;  // when !ok: what the server (or the wire) said
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual void done(int slot, const OpResult& result) = 0;
  // Counted beside operations: errors found outside one (a subscriber that
  // saw a gap, a stream that ended early).
  virtual void error(std::string_view what) = 0;
  // Whether something that started at `start_ns` (steady clock) falls in
  // the measured part of the run, after the warm-up.
  virtual bool measured(int64_t start_ns) const = 0;
};

// A latency measured by the client itself rather than per operation (for
// instance publish-to-delivery), reported beside the operations' latency.
struct ExtraLatency {
  std::string name;
  const AtomicHistogram* histogram = nullptr;
};

class Client {
 public:
  virtual ~Client() = default;
  virtual int slots() const = 0;
  // Connects and prepares the data the workload needs (keys to read, a
  // stream to range over). Blocking. Returns an error message, empty if ok.
  virtual std::string setup(Sink& sink) = 0;
  // Starts one operation on an idle slot. `start_ns` is when it was meant
  // to start (the send time carried by timestamped events).
  virtual void issue(int slot, int64_t start_ns) = 0;
  // Called once every slot is idle: waits for whatever the client still
  // expects (deliveries to subscribers), up to `timeout_ms`.
  virtual void drain(int timeout_ms) {}
  // Closes everything. Blocking; no callback into the sink after it returns.
  virtual void stop() = 0;
  virtual std::vector<ExtraLatency> extra_latencies() const { return {}; }
  // Lines of workload-specific facts for the report (prefill sizes, ...).
  virtual std::vector<std::pair<std::string, std::string>> facts() const { return {}; }
};

}  // namespace redcar::load
