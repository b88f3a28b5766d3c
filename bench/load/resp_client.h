// The RESP client: --clients TCP connections, each with up to --pipeline
// requests outstanding, on --threads boost.asio event loops.
//
// Why boost.asio and a small codec of our own (resp_codec.h) rather than
// hiredis: Debian's hiredis (0.14) needs a second event library (libevent or
// libev) for its async mode, while asio is already the project's event
// loop; and the reply reader here only has to find where a reply ends and
// whether it is an error, which keeps the client's cost per request low and
// easy to see next to the server's.
//
// Each connection is a RespPipeline (resp_pipeline.h), which owns how
// requests are batched into writes and replies matched to slots; this file
// owns what the workloads send and what their replies must be.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "client.h"
#include "options.h"

namespace redcar::load {

std::unique_ptr<Client> make_resp_client(const Options& options);

}  // namespace redcar::load
