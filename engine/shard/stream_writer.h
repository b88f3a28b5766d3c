// Appends to a shard's streams: the checks an append must pass (sizes, an
// idempotency id seen before, the expected version, the IDs Redis allows),
// then its events staged as one batch (after a crash all of them are there
// or none) and, for XADD MAXLEN/MINID, the trim behind them.
//
// Appends are checked and numbered against the staged view (staged_next,
// staged_last_id), which runs ahead of what readers see; the answer waits
// until the batch is written. Runs on the shard's thread.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/common/callback.h"
#include "engine/log/log.h"
#include "engine/shard/stream_table.h"
#include "engine/shard/stream_trims.h"

namespace redcar::shard {

// Asks whether a key of the key-value view holds `name`; `done` runs on
// the asking shard's thread. The key-value view lives on one shard, so the
// engine wires this across shards.
using KeyProbe = std::function<void(std::string name, runtime::Function<void(bool held), 256> done)>;

class StreamWriter {
 public:
  StreamWriter(StreamTable& table, StreamTrims& trims, log::Log& log) : table_(table), trims_(trims), log_(log) {}

  void set_key_probe(KeyProbe probe) { key_probe_ = std::move(probe); }

  void append(std::string stream, std::vector<EventData> events, AppendOptions opt, Callback<AppendResult> cb);
  // The same with the caller's events, which stay the caller's and must
  // last until `cb` runs: they are read while the append is staged.
  void append_lent(std::string stream, const std::vector<EventData>* events, AppendOptions opt,
                   Callback<AppendResult> cb);

 private:
  // `Events` is the vector itself (an append that owns its events, which a
  // detour to the key-value shard takes along) or a pointer to the
  // caller's.
  template <typename Events>
  void append_any(std::string stream, Events events, AppendOptions opt, Callback<AppendResult> cb);
  Status check_sizes(const std::string& stream, const std::vector<EventData>& events, size_t* total) const;
  // The answer to a retried append, if its id is in the window.
  bool answer_retry(const StreamState* s, const std::vector<EventData>& events, Callback<AppendResult>& cb);
  static Status check_expected(const ExpectedVersion& ev, bool exists, uint64_t next);
  static Result<StreamId> first_id(const AppendOptions& opt, StreamId last, uint64_t ms_now, size_t count);
  AppendResult stage_events(const std::string& stream, const std::vector<EventData>& events, StreamId first,
                            int64_t ts_us);
  void answer_when_written(const std::string& stream, const TrimSpec& trim, AppendResult r, Callback<AppendResult> cb);

  StreamTable& table_;
  StreamTrims& trims_;
  log::Log& log_;
  KeyProbe key_probe_;
};

}  // namespace redcar::shard
