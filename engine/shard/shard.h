// A shard: one thread, its own io_context and io_uring ring, its own log,
// and the streams and key-value state that live in it. Everything inside is
// touched by the shard's thread alone; other threads reach it by posting
// work to context(). No locks on the way.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <thread>

#include "engine/api/engine.h"
#include "engine/io/disk.h"
#include "engine/log/log.h"
#include "engine/shard/kv_store.h"
#include "engine/shard/stream_store.h"
#include "engine/shard/tail_subscriber.h"

namespace redcar::shard {

class Shard {
 public:
  Shard(unsigned index, unsigned count, const EngineOptions& options);
  ~Shard();

  // Starts the thread, which recovers the shard's log and then runs its loop.
  // Blocks until recovery is done; returns its result.
  Status start();
  // Finishes staged writes, ends subscriptions, stops the loop, joins.
  void stop();

  unsigned index() const { return index_; }
  boost::asio::io_context& context() { return ctx_; }
  StreamStore& streams() { return *streams_; }
  KvStore& kv() { return *kv_; }
  TailSubscriptions& tails() { return *tails_; }
  log::Log& log() { return *log_; }
  const log::RecoveryReport& recovery_report() const { return report_; }

  template <typename F>
  void post(F&& f) {
    boost::asio::post(ctx_, std::forward<F>(f));
  }

 private:
  Status open();
  void schedule_reclaim();

  unsigned index_;
  unsigned count_;
  EngineOptions opt_;
  boost::asio::io_context ctx_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::unique_ptr<io::Disk> disk_;
  std::unique_ptr<log::Log> log_;
  std::unique_ptr<StreamStore> streams_;
  std::unique_ptr<KvStore> kv_;
  std::unique_ptr<TailSubscriptions> tails_;
  std::unique_ptr<boost::asio::steady_timer> reclaim_timer_;
  log::RecoveryReport report_;
  std::thread thread_;
  bool running_ = false;
};

}  // namespace redcar::shard
