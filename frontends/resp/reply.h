// A promise of one reply. A command handler writes into it — at once, or
// later from an engine callback — and calls done(); the client sends the
// replies of a connection in the order their commands arrived.
#pragma once

#include <memory>
#include <string>

#include "frontends/resp/client.h"
#include "frontends/resp/resp_writer.h"

namespace redcar::resp {

class Reply {
 public:
  Reply(ClientPtr client, uint64_t slot, int protocol);
  ReplyWriter& w() { return writer_; }
  int protocol() const { return writer_.protocol(); }
  void done();
  Client& client() { return *client_; }
  const ClientPtr& client_ptr() const { return client_; }
  // The client's thread, where engine callbacks come back to.
  boost::asio::any_io_executor executor() const { return client_->executor(); }
  bool counts_as_write = false;  // the client's later reads wait for it

 private:
  ClientPtr client_;
  uint64_t slot_;
  std::string buf_;
  ReplyWriter writer_;
};
using ReplyPtr = std::shared_ptr<Reply>;

}  // namespace redcar::resp
