// What XREAD and XREADGROUP share: their arguments
//   [COUNT n] [BLOCK ms] [NOACK] STREAMS key... id...
// the wait of a reader that blocks (its subscriptions, its timer, the client
// leaving), and the shape of the answer, {key: entries} (a map in RESP3, an
// array of [key, entries] pairs in RESP2).
//
// A blocked reader follows its streams from a point it knows, so an entry
// appended at any moment either shows in a read or wakes it: none slips
// between the two. Everything here runs on the client's thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/api/engine.h"
#include "frontends/resp/command_table.h"
#include "runtime/timer.h"

namespace redcar::resp {

enum class StreamReadKind : uint8_t { kXRead, kXReadGroup };

struct StreamReadArgs {
  uint64_t count = UINT64_MAX;
  std::optional<int64_t> block_ms;  // BLOCK given; 0 waits without end
  bool noack = false;               // XREADGROUP only
  std::vector<std::string> keys;
  std::vector<std::string> ids;     // as given: "$" (XREAD), ">" (XREADGROUP) or an ID
};

// Parses a[first..]; on a bad argument answers the error and returns false.
bool parse_stream_read(Reply& r, Args a, size_t first, StreamReadKind kind, StreamReadArgs* out);

// The wait of one blocked read. It ends once: settle() says whether this
// caller is the one to answer.
class BlockedRead : public std::enable_shared_from_this<BlockedRead> {
 public:
  explicit BlockedRead(ReplyPtr reply) : reply_(std::move(reply)) {}
  virtual ~BlockedRead() = default;

  const ReplyPtr& reply() const { return reply_; }
  bool answered() const { return answered_; }
  // Stops waiting (subscriptions, timer). True the first time only.
  bool settle();
  void follow(std::shared_ptr<Subscription> sub) { subs_.push_back(std::move(sub)); }
  // Unless answered by then, `on_timeout` runs after `ms` (0: never).
  void time_out_after(int64_t ms, std::function<void()> on_timeout);
  // The client leaving ends the wait without an answer.
  void end_when_client_leaves();

 private:
  ReplyPtr reply_;
  bool answered_ = false;
  std::vector<std::shared_ptr<Subscription>> subs_;
  std::unique_ptr<runtime::Timer> timer_;
};

// Writes the answer header for `n` streams; each stream then writes its key
// and its entries through `each(i)`.
void write_streams(ReplyWriter& w, size_t n, const std::function<void(size_t i)>& each);

}  // namespace redcar::resp
