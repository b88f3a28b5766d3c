// A shard: one thread running one reactor (runtime/reactor.h: one io_uring
// for the shard's disk and its sockets), its own log, and the streams,
// consumer groups and key-value state that live in it. Everything inside is
// touched by the shard's thread alone; other threads reach it by posting
// work to its reactor. No locks on the way.
//
// The shard is where its parts meet: it routes each written (or recovered)
// record to the part that applies it, wakes subscribers after each batch,
// and runs retention and key expiry on timers.
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

#include <deque>
#include <vector>
#include <functional>
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
#include "engine/shard/gate.h"
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
#include "runtime/txn_scope.h"

namespace redcar::shard {

struct ShardOptions {
  EngineOptions engine;  // the storage flags every shard shares
  std::string dir;       // the shard's own folder
  unsigned index = 0;
  unsigned count = 1;
  // Transactions spanning shards (FORMAT.md, Transactions). The deciding
  // shard publishes the decisions its log holds once it has recovered
  // (nullopt: it did not); the others ask it about a transaction their log
  // ends inside of.
  std::function<void(std::optional<std::vector<uint64_t>> decisions)> publish_decisions;
  std::function<std::optional<bool>(uint64_t txn)> txn_committed;
};

class Shard final : public Gate {
 public:
  explicit Shard(ShardOptions options);
  ~Shard();

  // Starts the thread, which recovers the shard's log and then runs its loop.
  // Blocks until recovery is done; returns its result.
  Status start();
  // Finishes staged writes, ends subscriptions, stops the loop, joins. The
  // loop and the parts stay until free(): other shards still stopping may
  // post to it (the task is dropped, not run).
  void stop();
  // Stops, then lets go of the loop, the parts, the log and the disk.
  void free();

  // How a new stream asks whether a key holds its name (set before start()).
  void set_key_probe(KeyProbe probe) { key_probe_ = std::move(probe); }

  unsigned index() const { return opt_.index; }
  // The shard's loop (after start()): post work to it from any thread.
  runtime::Reactor& reactor() { return *reactor_; }
  const log::RecoveryReport& recovery_report() const { return report_; }
  // Runs `f` on the shard's thread, soon — or, while a transaction holds
  // the shard and `f` is not part of it, once the transaction lets go.
  template <typename F>
  void post(F&& f) {
    reactor_->post(runtime::Task([this, f = std::forward<F>(f)]() mutable {
      if (!admits()) return defer(runtime::Task(std::move(f)));
      f();
    }));
  }
  // Whether work may run here now (shard thread): no transaction holds the
  // shard, or the work is the holder's (runtime/txn_scope.h).
  bool admits() const override { return held_by_ == 0 || runtime::current_txn() == held_by_; }
  void defer(runtime::Task t) override;

  // ---- transactions (Engine::txn_begin), on the shard's thread
  //
  // hold(): from now on only the transaction's work runs here. Work that
  // was already under way finishes first — its writes, its reads, the
  // group operations running or queued — so that nothing but the
  // transaction's own work can stage a record; then the log's batches
  // become provisional and `held` runs with the transaction current. The
  // deciding shard numbers the transaction (txn 0: a new one).
  void hold(uint64_t txn, runtime::Function<void(uint64_t txn), 128> held);
  // Ends the provisional batches; whether the transaction wrote here.
  bool end_writes(uint64_t txn);
  // Stages the transaction's commit mark (`decision`: the deciding shard's
  // for a transaction that wrote on several); `done` once it is durable.
  void commit_mark(uint64_t txn, bool decision, runtime::Function<void(Status), 128> done);
  // A shard failed to write its commit mark after the decision: until a
  // restart completes the transaction there, the decision must stay, so
  // segments are no longer reclaimed here.
  void keep_decisions();
  // The decision could not be written: the provisional batches here may
  // never be settled, so the log refuses appends from now on (recovery
  // then drops the transaction, as the deciding shard never committed it).
  void abandon(uint64_t txn, const Status& why);
  // Lets go: the subscribers woken by what was written meanwhile see it
  // now, and the work that waited runs, in order. Each step does nothing
  // for a transaction that no longer holds the shard (it stopped).
  void release(uint64_t txn);
  uint64_t held_by() const { return held_by_; }

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
  // Arms the timer that deletes expired keys and streams at the earliest
  // deadline.
  void schedule_expiry();
  void run_deferred();
  // hold()'s wait for the work under way; then `held`.
  void quiesce(uint64_t txn, std::shared_ptr<runtime::Function<void(uint64_t), 128>> held);
  bool quiet() const;
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
  std::unique_ptr<runtime::Timer> expiry_timer_;
  int64_t expiry_at_ = 0;  // the deadline the expiry timer is armed for
  log::RecoveryReport report_;
  std::thread thread_;
  bool running_ = false;

  // The transaction holding the shard (0: none), the work that waits for
  // it with the transaction each belongs to, and whether batches written
  // meanwhile have subscribers to wake.
  struct Deferred {
    uint64_t txn;
    runtime::Task task;
  };
  uint64_t held_by_ = 0;
  std::deque<Deferred> deferred_;
  bool wake_pending_ = false;
  bool keep_decisions_ = false;
  uint64_t next_txn_ = 1;  // the deciding shard's next transaction id
};

}  // namespace redcar::shard
