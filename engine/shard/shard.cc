#include "engine/shard/shard.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <utility>


#include "engine/common/assert.h"
#include "engine/common/clock.h"
#include "engine/io/disk_factory.h"
#include "engine/shard/group_apply.h"
#include "engine/shard/record_bodies.h"

namespace redcar::shard {

using log::RecordType;

Shard::Shard(ShardOptions options) : opt_(std::move(options)) {}

Shard::~Shard() { free(); }

void Shard::make_parts() {
  table_ = std::make_unique<StreamTable>();
  reader_ = std::make_unique<StreamReader>(*table_, *log_);
  trims_ = std::make_unique<StreamTrims>(*table_, *reader_, *log_);
  writer_ = std::make_unique<StreamWriter>(*table_, *trims_, *log_);
  writer_->set_key_probe(key_probe_);
  admin_ = std::make_unique<StreamAdmin>(*table_, *reader_, *log_);
  retention_ = std::make_unique<Retention>(*table_, *log_);
  groups_ = std::make_unique<ConsumerGroups>(*table_, *reader_, *retention_, *log_, *reactor_);
  subscriptions_ = std::make_unique<StreamSubscriptions>(*table_, *reader_);
  subscriptions_->set_gate(this);
  tails_ = std::make_unique<TailSubscriptions>(*log_, *table_);
  tails_->set_gate(this);
  kv_ = std::make_unique<KvStore>(*log_);
  watchers_ = std::make_unique<KvWatchers>(*kv_);
  watchers_->set_gate(this);
  retention_->set_kv_restater([this] { return kv_->restate(); }, [this] { return kv_->restate_bytes(); });
}

Status Shard::open() {
  disk_ = io::open_disk(opt_.engine.mem_fs, *reactor_);
  log::LogOptions lo;
  lo.dir = opt_.dir;
  lo.shard = static_cast<uint16_t>(opt_.index);
  lo.shard_count = static_cast<uint16_t>(opt_.count);
  lo.segment_bytes = opt_.engine.segment_bytes;
  lo.fsync = opt_.engine.fsync;
  lo.fsync_interval_ms = opt_.engine.fsync_interval_ms;
  lo.hot_cache_bytes = opt_.engine.hot_cache_bytes;
  lo.repair = opt_.engine.repair;
  lo.txn_committed = opt_.txn_committed;
  log_ = std::make_unique<log::Log>(*disk_, *reactor_, lo);
  make_parts();
  auto recovered = [this](const log::RecordView& rec, uint64_t offset) { apply(rec, offset, false); };
  if (Status s = log_->open(recovered, &report_); !s) return s;
  // Above every id the log remembers, and above the clock's microseconds,
  // so that ids do not repeat across restarts even where the log kept none.
  next_txn_ = std::max({report_.max_txn + 1, report_.last_txn_commit + 1,
                        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                  std::chrono::system_clock::now().time_since_epoch())
                                                  .count())});
  reclaim_timer_ = std::make_unique<runtime::Timer>(*reactor_);
  expiry_timer_ = std::make_unique<runtime::Timer>(*reactor_);
  log_->set_durable_hook([this](const log::RecordView& rec, uint64_t offset) { apply(rec, offset, true); });
  log_->set_batch_hook([this] { after_batch(); });
  table_->set_on_expire([this](StreamState& s) { admin_->expire_now(s); });
  schedule_reclaim();
  schedule_expiry();  // keys and streams that expired while the server was down go now
  return Status::ok();
}

void Shard::apply(const log::RecordView& rec, uint64_t log_offset, bool live) {
  const RecordType type = rec.header.type;
  if (type == RecordType::kTxn) return;  // marks for recovery (FORMAT.md, Transactions)
  if (log::is_kv_record(type)) {
    kv_->apply(rec, live);
    retention_->note_record(rec, log_offset);
    return;
  }
  if (is_group_record(type)) {
    // Live group records were applied and noted when staged.
    if (live) return;
    retention_->note_record(rec, log_offset);
    return apply_group_record(*table_, rec);
  }
  retention_->note_record(rec, log_offset);
  if (type == RecordType::kStreamDelete) {
    subscriptions_->on_stream_deleted(rec.name, Status(Code::kNotFound, Reason::kNoStream, "stream deleted"));
  }
  table_->apply(rec, log_offset, live);
  if (live && type == RecordType::kEvent) subscriptions_->on_event(rec);
}

void Shard::after_batch() {
  if (held_by_ != 0) {
    // Provisional until the transaction commits: nobody else sees it yet.
    wake_pending_ = true;
    return;
  }
  subscriptions_->after_batch();
  if (kv_->take_changed()) watchers_->after_batch();
  schedule_expiry();  // a deadline written may be the earliest
  tails_->after_batch();
}

void Shard::schedule_expiry() {
  const int64_t next = std::min(kv_->next_deadline(), table_->next_deadline());
  if (next == INT64_MAX || (expiry_timer_->pending() && expiry_at_ <= next)) return;
  expiry_at_ = next;
  // The deadline is wall-clock milliseconds and the timer's clock is
  // another: a millisecond late, never early (reap() checks again anyway).
  const int64_t wait = std::max<int64_t>(0, next - now_ms()) + 1;
  expiry_timer_->start(std::chrono::milliseconds(wait), [this] {
    // Through post(): while a transaction holds the shard, its deletes
    // wait for it, as any other work does.
    post([this] {
      const int64_t now = now_ms();
      kv_->reap(now);
      table_->expire_due(now);
      schedule_expiry();
    });
  });
}

void Shard::schedule_reclaim() {
  reclaim_timer_->start(std::chrono::milliseconds(opt_.engine.reclaim_interval_ms), [this] {
    // Not under a transaction: what reclaiming re-states would be provisional.
    // Nor while a shard may still ask for a decision this log holds.
    if (held_by_ != 0 || keep_decisions_) return schedule_reclaim();
    retention_->reclaim([this](Status s, uint64_t removed) {
      if (!s) {
        spdlog::warn("shard {}: reclaiming segments: {}", opt_.index, s.to_string());
      } else if (removed) {
        spdlog::info("shard {}: reclaimed {} segments", opt_.index, removed);
      }
      schedule_reclaim();
    });
  });
}

void Shard::main(std::promise<Status>* opened) {
  std::unique_ptr<runtime::Reactor> reactor;
  if (int rc = runtime::Reactor::create({.ring_entries = limits::kRingEntries}, &reactor); rc < 0) {
    if (opt_.publish_decisions) opt_.publish_decisions(std::nullopt);
    return opened->set_value(Status::from_errno(rc, "io_uring_setup"));
  }
  reactor_ = std::move(reactor);
  Status s = open();
  bool ok = s.is_ok();
  if (opt_.publish_decisions) {
    opt_.publish_decisions(ok ? std::optional<std::vector<uint64_t>>(report_.txn_decisions) : std::nullopt);
  }
  opened->set_value(std::move(s));
  if (!ok) return;
  reactor_->run();
  // Stopped: operations still in flight write or read buffers the log
  // owns, and only this thread may reap them.
  disk_->drain();
}

Status Shard::start() {
  std::promise<Status> opened;
  auto fut = opened.get_future();
  thread_ = std::thread([this, &opened] { main(&opened); });
  Status s = fut.get();
  if (!s) {
    thread_.join();
    return s;
  }
  running_ = true;
  return s;
}

// ------------------------------------------------------------ transactions

void Shard::defer(runtime::Task t) { deferred_.push_back(Deferred{runtime::current_txn(), std::move(t)}); }

void Shard::run_deferred() {
  while (!deferred_.empty()) {
    // Behind another transaction's hold (one that waited here), the rest
    // wait again, in order.
    if (held_by_ != 0 && deferred_.front().txn != held_by_) return;
    Deferred d = std::move(deferred_.front());
    deferred_.pop_front();
    runtime::TxnScope scope(d.txn);
    d.task();
  }
}

void Shard::hold(uint64_t txn, runtime::Function<void(uint64_t), 128> held) {
  REDCAR_CHECK(held_by_ == 0);
  if (txn == 0) txn = next_txn_++;
  held_by_ = txn;
  quiesce(txn, std::make_shared<runtime::Function<void(uint64_t), 128>>(std::move(held)));
}

bool Shard::quiet() const {
  return log_->staged_end() == log_->written_end() && log_->flushes_in_flight() == 0 && disk_->in_flight() == 0 &&
         groups_->idle();
}

void Shard::quiesce(uint64_t txn, std::shared_ptr<runtime::Function<void(uint64_t), 128>> held) {
  if (held_by_ != txn) return;  // stopped meanwhile
  if (!quiet()) {
    // What others staged goes out as settled batches; their reads and
    // group operations under way end (new ones wait at the gate). Looked
    // at again each time something completes, or shortly.
    log_->drain([this, txn, held] {
      if (quiet()) return quiesce(txn, held);
      reactor_->schedule(runtime::Reactor::Clock::now() + std::chrono::microseconds(200),
                         runtime::Task([this, txn, held] { quiesce(txn, held); }));
    });
    return;
  }
  if (opt_.engine.fsync != FsyncMode::kAlways) {
    // What came before must be durable before the transaction's batches,
    // which are durable when written: a power loss then keeps a prefix.
    if (Status st = log_->sync_now(); !st) log_->refuse_appends(st);
  }
  log_->begin_txn(txn);
  runtime::TxnScope scope(txn);
  (*held)(txn);
}

bool Shard::end_writes(uint64_t txn) {
  if (held_by_ != txn) return false;
  return log_->end_txn();
}

void Shard::commit_mark(uint64_t txn, bool decision, runtime::Function<void(Status), 128> done) {
  if (held_by_ != txn) return done(Status(Code::kUnavailable, "shard stopping"));
  REDCAR_CHECK(log_->txn() == 0);
  if (auto st = log_->stage_commit_mark(txn, decision); !st) return done(st.status());
  log_->when_durable([done = std::move(done)](const Status& s) mutable { done(s); });
}

void Shard::abandon(uint64_t txn, const Status& why) {
  if (held_by_ != txn) return;
  log_->end_txn();
  if (!log_->failure().is_ok()) return;  // failed already
  log_->refuse_appends(Status(why.code(), "transaction " + std::to_string(txn) +
                                              " could not commit, and its writes here are unsettled until a "
                                              "restart drops them: " + why.message()));
}

void Shard::keep_decisions() { keep_decisions_ = true; }

void Shard::release(uint64_t txn) {
  if (held_by_ != txn) return;
  log_->end_txn();
  held_by_ = 0;
  {
    // Wakes others' subscribers, outside the transaction.
    runtime::TxnScope none(0);
    if (std::exchange(wake_pending_, false)) after_batch();
  }
  run_deferred();
}

void Shard::close_parts(const Status& why) {
  reclaim_timer_->cancel();
  if (expiry_timer_) expiry_timer_->cancel();
  subscriptions_->close_all(why);
  watchers_->close_all(why);
  tails_->close_all(why);
}

void Shard::destroy_parts() {
  // Owners of callbacks go before the log and the disk they used.
  tails_.reset();
  subscriptions_.reset();
  watchers_.reset();
  groups_.reset();
  retention_.reset();
  admin_.reset();
  writer_.reset();
  trims_.reset();
  reader_.reset();
  table_.reset();
  kv_.reset();
}

void Shard::stop() {
  if (!running_) {
    if (thread_.joinable()) thread_.join();
    return;
  }
  running_ = false;
  std::promise<void> drained;
  auto fut = drained.get_future();
  // Past any transaction's hold: a stop does not wait for it (the log's
  // close abandons it, and recovery drops it).
  reactor_->post(runtime::Task([this, &drained] {
    // A transaction holding the shard is abandoned (the close ends its
    // provisional batches with a close batch; recovery drops them). What
    // waited for it never runs: nothing may follow those batches but their
    // commit mark, and the front ends, stopped first, have no one to answer.
    held_by_ = 0;
    deferred_.clear();
    log_->close([this, &drained] {
      close_parts(Status(Code::kUnavailable, "server shutting down"));
      drained.set_value();
    });
  }));
  fut.wait();
  reactor_->stop();
  thread_.join();
}

void Shard::free() {
  stop();
  if (!reactor_) return;
  destroy_parts();
  if (log_) log_->wait_prepare();
  disk_.reset();
  log_.reset();
  reactor_.reset();
}

}  // namespace redcar::shard
