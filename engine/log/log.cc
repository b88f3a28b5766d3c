#include "engine/log/log.h"

#include <chrono>
#include <cstring>

namespace redcar::log {

Log::Log(io::Disk& disk, runtime::Reactor& reactor, LogOptions options)
    : opt_(std::move(options)),
      segments_(disk, opt_.dir, opt_.segment_bytes),
      hot_(opt_.hot_cache_bytes),
      commit_(segments_, hot_, reactor, opt_),
      reader_(segments_, hot_, commit_.positions(), opt_.hot_cache_bytes / 4) {}

Log::~Log() { wait_prepare(); }

Status Log::open(const DurableHook& apply, RecoveryReport* report) {
  auto t0 = std::chrono::steady_clock::now();
  RecoveredTail tail;
  if (Status s = recover(segments_, opt_, apply, report, &tail); !s) return s;
  if (Status s = commit_.resume(tail); !s) return s;
  if (tail.settle_txn) {
    // A transaction that committed on the deciding shard, whose commit mark
    // never reached this log: it goes first, before anything else lands
    // after the provisional batches.
    if (auto st = stage_commit_mark(tail.settle_txn, false); !st) return st.status();
  }
  if (!segments_.has_spare()) segments_.start_prepare();
  report->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return Status::ok();
}

Result<uint64_t> Log::stage(const RecordHeader& h, std::string_view name, std::string_view body) {
  return stage_with(h, name, body.size(), [body](uint8_t* out) {
    if (!body.empty()) std::memcpy(out, body.data(), body.size());
  });
}

Result<uint64_t> Log::stage_commit_mark(uint64_t txn, bool decision) {
  RecordHeader h;
  h.type = RecordType::kTxn;
  h.number = txn;
  const char mark[2] = {static_cast<char>(TxnMark::kCommit), static_cast<char>(decision ? 1 : 0)};
  auto st = stage(h, {}, std::string_view(mark, decision ? 2 : 1));
  if (st) require_sync();
  return st;
}

Status Log::remove_segments_below(uint64_t log_offset) {
  return segments_.remove_below(log_offset, [this](uint64_t first) { reader_.forget(first); });
}

}  // namespace redcar::log
