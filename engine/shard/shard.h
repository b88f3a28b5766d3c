// A shard: one thread running one reactor (runtime/reactor.h: one io_uring
// for the shard's disk and its sockets), its own log, and the streams,
// consumer groups and key-value state that live in it. Everything inside is
// touched by the shard's thread alone; other threads reach it by posting
// work to its reactor. No locks on the way.
//
// The shard is where its parts meet: it routes each written (or recovered)
// record to the part that applies it, wakes subscribers after each batch,
// and runs retention on a timer.
//
//   StreamTable          the streams' state, applied from stream records
//   StreamReader         reads by number or ID, through the sparse index
//   StreamWriter         appends                      StreamTrims   trims
//   StreamAdmin          info, delete, XDEL, XSETID
//   ConsumerGroups       groups (applied by group_apply.h)
//   StreamSubscriptions  per-stream subscribers        TailSubscriptions  prefix/all
//   KvStore, KvWatchers  the key-value view and its watches
//   Retention            which segments can go, and re-stating what they hold
#pragma once

#include <memory>
#include <future>
#include <optional>
#include <string>
#include <thread>

#include "engine/common/limits.h"
#include "engine/common/options.h"
#include "engine/io/disk.h"
#include "engine/log/log.h"
#include "engine/shard/consumer_groups.h"
#include "engine/shard/kv_store.h"
#include "engine/shard/kv_watch.h"
#include "engine/shard/retention.h"
#include "engine/shard/stream_admin.h"
#include "engine/shard/stream_reader.h"
#include "engine/shard/stream_subscriptions.h"
#include "engine/shard/stream_table.h"
#include "engine/shard/stream_trims.h"
#include "engine/shard/stream_writer.h"
#include "engine/shard/tail_subscriptions.h"
#include "runtime/reactor.h"
#include "runtime/timer.h"

namespace redcar::shard {

struct ShardOptions {
  EngineOptions engine;  // the storage flags every shard shares
  std::string dir;       // the shard's own folder
  unsigned index = 0;
  unsigned count = 1;
};

class Shard {
 public:
  explicit Shard(ShardOptions options);
  ~Shard();

  // Starts the thread, which recovers the shard's log and then runs its loop.
  // Blocks until recovery is done; returns its result.
  Status start();
  // Finishes staged writes, ends subscriptions, stops the loop, joins.
  void stop();

  // How a new stream asks whether a key holds its name (set before start()).
  void set_key_probe(KeyProbe probe) { key_probe_ = std::move(probe); }

  unsigned index() const { return opt_.index; }
  // The shard's loop (after start()): post work to it from any thread.
  runtime::Reactor& reactor() { return *reactor_; }
  const log::RecoveryReport& recovery_report() const { return report_; }
  template <typename F>
  void post(F&& f) {
    reactor_->post(runtime::Task(std::forward<F>(f)));
  }

  // The parts, for work posted to this shard's thread.
  log::Log& log() { return *log_; }
  StreamTable& table() { return *table_; }
  StreamReader& reader() { return *reader_; }
  StreamWriter& writer() { return *writer_; }
  StreamTrims& trims() { return *trims_; }
  StreamAdmin& admin() { return *admin_; }
  ConsumerGroups& groups() { return *groups_; }
  StreamSubscriptions& subscriptions() { return *subscriptions_; }
  TailSubscriptions& tails() { return *tails_; }
  KvStore& kv() { return *kv_; }
  KvWatchers& watchers() { return *watchers_; }

 private:
  Status open();
  // The thread: makes the reactor, recovers, runs the loop until stop().
  void main(std::promise<Status>* opened);
  void make_parts();
  // Routes a written (`live`) or recovered record to the part that applies it.
  void apply(const log::RecordView& rec, uint64_t log_offset, bool live);
  void after_batch();
  void schedule_reclaim();
  void close_parts(const Status& why);
  void destroy_parts();

  ShardOptions opt_;
  KeyProbe key_probe_;
  std::unique_ptr<runtime::Reactor> reactor_;
  std::unique_ptr<io::Disk> disk_;
  std::unique_ptr<log::Log> log_;
  std::unique_ptr<StreamTable> table_;
  std::unique_ptr<StreamReader> reader_;
  std::unique_ptr<StreamTrims> trims_;
  std::unique_ptr<StreamWriter> writer_;
  std::unique_ptr<StreamAdmin> admin_;
  std::unique_ptr<Retention> retention_;
  std::unique_ptr<ConsumerGroups> groups_;
  std::unique_ptr<StreamSubscriptions> subscriptions_;
  std::unique_ptr<TailSubscriptions> tails_;
  std::unique_ptr<KvStore> kv_;
  std::unique_ptr<KvWatchers> watchers_;
  std::unique_ptr<runtime::Timer> reclaim_timer_;
  log::RecoveryReport report_;
  std::thread thread_;
  bool running_ = false;
};

}  // namespace redcar::shard
