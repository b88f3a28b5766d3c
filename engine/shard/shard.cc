#include "engine/shard/shard.h"

#include <spdlog/spdlog.h>


#include "engine/io/disk_factory.h"
#include "engine/shard/group_apply.h"
#include "engine/shard/record_bodies.h"

namespace redcar::shard {

using log::RecordType;

Shard::Shard(ShardOptions options) : opt_(std::move(options)) {}

Shard::~Shard() { stop(); }

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
  tails_ = std::make_unique<TailSubscriptions>(*log_, *table_);
  kv_ = std::make_unique<KvStore>(*log_);
  watchers_ = std::make_unique<KvWatchers>(*kv_);
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
  log_ = std::make_unique<log::Log>(*disk_, *reactor_, lo);
  make_parts();
  auto recovered = [this](const log::RecordView& rec, uint64_t offset) { apply(rec, offset, false); };
  if (Status s = log_->open(recovered, &report_); !s) return s;
  log_->set_durable_hook([this](const log::RecordView& rec, uint64_t offset) { apply(rec, offset, true); });
  log_->set_batch_hook([this] { after_batch(); });
  reclaim_timer_ = std::make_unique<runtime::Timer>(*reactor_);
  schedule_reclaim();
  return Status::ok();
}

void Shard::apply(const log::RecordView& rec, uint64_t log_offset, bool live) {
  const RecordType type = rec.header.type;
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
  subscriptions_->after_batch();
  if (kv_->take_changed()) watchers_->after_batch();
  tails_->after_batch();
}

void Shard::schedule_reclaim() {
  reclaim_timer_->start(std::chrono::milliseconds(opt_.engine.reclaim_interval_ms), [this] {
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
    return opened->set_value(Status::from_errno(rc, "io_uring_setup"));
  }
  reactor_ = std::move(reactor);
  Status s = open();
  bool ok = s.is_ok();
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

void Shard::close_parts(const Status& why) {
  reclaim_timer_->cancel();
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
  post([this, &drained] {
    log_->close([this, &drained] {
      close_parts(Status(Code::kUnavailable, "server shutting down"));
      drained.set_value();
    });
  });
  fut.wait();
  reactor_->stop();
  thread_.join();
  destroy_parts();
  log_->wait_prepare();
  disk_.reset();
  log_.reset();
  reactor_.reset();
}

}  // namespace redcar::shard
