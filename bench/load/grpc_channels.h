// What the two gRPC clients (etcd v3 and redcar.v1) share: the channels
// their calls are spread over, status codes as text, and a small helper
// that runs a fixed number of asynchronous calls with bounded concurrency
// (used to write the data a workload reads before it is measured).
//
// Each channel is its own TCP connection: channels built with equal
// arguments would share one connection, so each gets a local subchannel
// pool. Slot s uses channel s % channels.
//
// The clients use grpc++'s callback API. The completion-queue API was tried
// against etcd as well: the same rate, ~5% less client CPU per call, for
// more code; not worth it. On this machine a unary call costs the client
// ~30 us of CPU, so past ~30k calls/s the client needs a core of its own.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "options.h"

namespace redcar::load {

// Makes `options.channels` channels to options.addr and waits (up to
// `timeout_ms`) until each is connected. Returns an error message, empty if ok.
std::string make_channels(const Options& options, int timeout_ms,
                          std::vector<std::shared_ptr<grpc::Channel>>* channels);

// "UNAVAILABLE: the message".
std::string status_text(const grpc::Status& status);

// Runs call(i, done) for i in [0, count), at most `concurrency` at a time;
// each call must invoke done(error) once ("" when it succeeded), from any
// thread. Blocks until all have finished; returns the first error.
using ParallelCall = std::function<void(uint64_t index, std::function<void(std::string)> done)>;
std::string run_parallel(uint64_t count, int concurrency, const ParallelCall& call);

}  // namespace redcar::load
