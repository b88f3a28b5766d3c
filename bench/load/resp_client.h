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
// A connection writes whatever its slots asked for while the previous write
// was in flight as one write, and answers its slots in order as replies
// arrive; a slot answered inside a read is sent again before the next write,
// so a pipeline stays full. A connection that fails answers its outstanding
// slots with a fatal error and every later request on it too.
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
