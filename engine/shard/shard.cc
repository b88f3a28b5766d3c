#include "engine/shard/shard.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <future>

#include "engine/io/mem_disk.h"
#include "engine/io/uring_disk.h"

namespace redcar::shard {

Shard::Shard(unsigned index, unsigned count, const EngineOptions& options)
    : index_(index), count_(count), opt_(options) {}

Shard::~Shard() { stop(); }

Status Shard::open() {
  if (opt_.mem_fs) {
    disk_ = std::make_unique<io::MemDisk>(*opt_.mem_fs, ctx_);
  } else {
    auto d = io::UringDisk::create(ctx_, limits::kRingEntries);
    if (!d) return d.status();
    disk_ = std::move(*d);
  }
  char dir[32];
  std::snprintf(dir, sizeof(dir), "/shard-%03u", index_);
  log::LogOptions lo;
  lo.dir = opt_.data_dir + dir;
  lo.shard = static_cast<uint16_t>(index_);
  lo.shard_count = static_cast<uint16_t>(count_);
  lo.segment_bytes = opt_.segment_bytes;
  lo.fsync = opt_.fsync;
  lo.fsync_interval_ms = opt_.fsync_interval_ms;
  lo.hot_cache_bytes = opt_.hot_cache_bytes;
  lo.repair = opt_.repair;
  log_ = std::make_unique<log::Log>(*disk_, ctx_, lo);
  streams_ = std::make_unique<StreamStore>(*log_, ctx_, index_);
  kv_ = std::make_unique<KvStore>(*log_, ctx_);
  tails_ = std::make_unique<TailSubscriptions>(*log_, *streams_);
  streams_->set_kv_restater([this] { return kv_->restate(); }, [this] { return kv_->restate_bytes(); });
  Status s = log_->open(
      [this](const log::RecordView& rec, uint64_t offset) {
        if (log::is_kv_record(rec.header.type)) {
          kv_->apply(rec, false);
          streams_->note_record(rec, offset);
        } else {
          streams_->apply(rec, offset, false);
        }
      },
      &report_);
  if (!s) return s;
  log_->set_durable_hook([this](const log::RecordView& rec, uint64_t offset) {
    if (log::is_kv_record(rec.header.type)) {
      kv_->apply(rec, true);
      streams_->note_record(rec, offset);
    } else {
      streams_->apply(rec, offset, true);
    }
  });
  reclaim_timer_ = std::make_unique<boost::asio::steady_timer>(ctx_);
  schedule_reclaim();
  log_->set_batch_hook([this] {
    streams_->after_batch();
    kv_->after_batch();
    tails_->after_batch();
  });
  return Status::ok();
}

void Shard::schedule_reclaim() {
  reclaim_timer_->expires_after(std::chrono::milliseconds(opt_.reclaim_interval_ms));
  reclaim_timer_->async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    streams_->reclaim([this](Status s, uint64_t removed) {
      if (!s) spdlog::warn("shard {}: reclaiming segments: {}", index_, s.to_string());
      else if (removed) spdlog::info("shard {}: reclaimed {} segments", index_, removed);
      schedule_reclaim();
    });
  });
}

Status Shard::start() {
  std::promise<Status> opened;
  auto fut = opened.get_future();
  work_.emplace(ctx_.get_executor());
  thread_ = std::thread([this, &opened] {
    Status s = open();
    bool ok = s.is_ok();
    opened.set_value(std::move(s));
    if (!ok) return;
    ctx_.run();
  });
  Status s = fut.get();
  if (!s) {
    thread_.join();
    work_.reset();
    return s;
  }
  running_ = true;
  return s;
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
      Status bye(Code::kUnavailable, "server shutting down");
      reclaim_timer_->cancel();
      streams_->close_all(bye);
      kv_->close_all(bye);
      tails_->close_all(bye);
      drained.set_value();
    });
  });
  fut.wait();
  work_.reset();
  ctx_.stop();
  thread_.join();
  // Owners of callbacks go before the log and the disk they used.
  tails_.reset();
  streams_.reset();
  kv_.reset();
  // The disk goes first: it waits for writes still in flight (after a
  // failure) whose buffers the log owns.
  log_->wait_prepare();
  disk_.reset();
  log_.reset();
}

}  // namespace redcar::shard
