// One client of the RESP front end as commands see it: its protocol,
// authentication, name and pub/sub subscriptions, and what a command may do
// to it besides answering — push out-of-band data, wait until its output
// drains, run code on its thread. A socket Session is one; the in-process
// client of the command tests is another.
//
// A client lives on one thread (its executor); every member is touched
// there only.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/reactor.h"

namespace redcar::resp {

class Client : public std::enable_shared_from_this<Client> {
 public:
  virtual ~Client() = default;

  uint64_t id = 0;
  int protocol = 2;
  bool authenticated = false;
  std::string name;
  std::string peer;
  int64_t created_ms = 0;
  // Blocking commands and subscriptions register a cancel hook here, run
  // when the client leaves.
  std::vector<std::function<void()>> on_close;
  // Pub/sub: channels and patterns this client listens to.
  std::vector<std::string> channels;
  std::vector<std::string> patterns;
  bool subscribed() const { return !channels.empty() || !patterns.empty(); }

  // Sends out-of-band data (pub/sub messages, event pushes) after the
  // replies already queued.
  virtual void push(std::string bytes) = 0;
  // Runs `fn` once the client's buffered output is below the pause mark:
  // subscriptions ask the engine for more only when the client keeps up.
  virtual void when_writable(std::function<void()> fn) = 0;
  // The loop the client lives on; engine callbacks come back to it.
  virtual runtime::Reactor& loop() = 0;
  boost::asio::any_io_executor executor() { return loop().get_executor(); }
  virtual bool closed() const = 0;
  // The reply in `slot` is complete (Reply::done()). `was_write`: it
  // answered a write, which later reads of this client waited for.
  virtual void complete(uint64_t slot, std::string bytes, bool was_write) = 0;
};

using ClientPtr = std::shared_ptr<Client>;

}  // namespace redcar::resp
