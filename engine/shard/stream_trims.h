// Which events a trim removes, and staging it: XTRIM / XADD MAXLEN and
// MINID, and the native API's max age, max bytes and first number. A trim
// is one stream-trim record naming the new first event; trimmed events
// disappear from reads once it is written, and from disk when Retention
// finds their segments hold nothing live.
//
// Trims are judged against the staged view (what the caller just added).
// Max age and max bytes work in whole index blocks: they may keep up to a
// block of events more than asked, never fewer. Runs on the shard's thread.
#pragma once

#include <functional>
#include <string>

#include "engine/common/callback.h"
#include "engine/log/log.h"
#include "engine/shard/stream_reader.h"
#include "engine/shard/stream_table.h"

namespace redcar::shard {

class StreamTrims {
 public:
  StreamTrims(StreamTable& table, StreamReader& reader, log::Log& log) : table_(table), reader_(reader), log_(log) {}

  // Trims and answers with the number of live events removed, once written.
  void trim(const std::string& stream, const TrimSpec& spec, Callback<uint64_t> cb);
  // The stream's first event number after `spec` (its current first if
  // nothing goes).
  void resolve(const std::string& stream, const TrimSpec& spec, Callback<uint64_t> cb);
  // Stages a trim to `new_first`; the live events it removes (0: nothing
  // staged).
  Result<uint64_t> stage(const std::string& stream, uint64_t new_first);

 private:
  uint64_t by_count(const StreamState& s, const TrimSpec& spec) const;
  uint64_t by_age(const StreamState& s, const TrimSpec& spec) const;
  uint64_t by_bytes(const StreamState& s, const TrimSpec& spec) const;

  StreamTable& table_;
  StreamReader& reader_;
  log::Log& log_;
};

}  // namespace redcar::shard
