#include "frontends/resp/reply.h"

#include <utility>

namespace redcar::resp {

Reply::Reply(ClientPtr client, uint64_t slot, int protocol)
    : client_(std::move(client)), slot_(slot), writer_(buf_, protocol) {}

void Reply::done() {
  bool was_write = std::exchange(counts_as_write, false);
  client_->complete(slot_, std::move(buf_), was_write);
  buf_.clear();
}

}  // namespace redcar::resp
