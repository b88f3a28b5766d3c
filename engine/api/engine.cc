#include "engine/api/engine.h"

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <xxhash.h>

#include <algorithm>
#include <future>
#include <mutex>
#include <thread>

#include "engine/common/clock.h"
#include "engine/shard/data_dir.h"
#include "engine/shard/shard.h"

namespace redcar {

namespace {
Status stopped_status() { return Status(Code::kUnavailable, "engine stopped"); }

// Runs fn(shard) on the shard's thread (at once when already on it and
// no transaction keeps it waiting).
template <typename Fn>
void run_on(shard::Shard& s, Fn&& fn) {
  if (s.reactor().in_loop_thread() && s.admits()) return fn(s);
  s.post([sp = &s, fn = std::forward<Fn>(fn)]() mutable { fn(*sp); });
}

// One answer per shard, merged into one under a mutex: list and stats
// calls, off the hot path.
template <typename T>
struct Gather {
  std::mutex mu;
  T total{};
  size_t remaining = 0;
  Callback<T> cb;
};
}  // namespace

Engine::Engine(EngineOptions options) : opt_(std::move(options)) {}

Engine::~Engine() { stop(); }

Result<std::unique_ptr<Engine>> Engine::open(EngineOptions options) {
  std::unique_ptr<Engine> e(new Engine(std::move(options)));
  EngineOptions& opt = e->opt_;
  if (opt.segment_bytes < limits::kMinSegmentBytes || opt.segment_bytes % limits::kBlockBytes != 0) {
    return Status(Code::kInvalidArgument, "segment size must be a multiple of 4096 and at least 64 KiB");
  }
  auto dir = shard::DataDir::open(opt.data_dir, opt.mem_fs);
  if (!dir) return dir.status();
  e->data_dir_ = std::move(*dir);
  unsigned existing = e->data_dir_->existing_shards();
  unsigned wanted = opt.shards ? opt.shards : std::max(1u, std::thread::hardware_concurrency());
  if (existing && existing != wanted) {
    spdlog::warn("{} was created with {} shards; keeping {} (asked for {})", opt.data_dir, existing, existing, wanted);
    wanted = existing;
  }
  opt.shards = wanted;
  // The key-value shard decides transactions spanning shards: the others
  // wait for what its log says when theirs ends inside one.
  struct Decider {
    std::once_flag once;
    std::promise<std::optional<std::vector<uint64_t>>> decisions;
    std::shared_future<std::optional<std::vector<uint64_t>>> seen = decisions.get_future().share();
  };
  auto decider = std::make_shared<Decider>();
  for (unsigned i = 0; i < wanted; ++i) {
    shard::ShardOptions so;
    so.engine = opt;
    so.dir = e->data_dir_->shard_path(i);
    so.index = i;
    so.count = wanted;
    if (i == e->kv_shard()) {
      so.publish_decisions = [decider](std::optional<std::vector<uint64_t>> d) {
        std::call_once(decider->once, [&] { decider->decisions.set_value(std::move(d)); });
      };
    } else {
      so.txn_committed = [decider](uint64_t txn) -> std::optional<bool> {
        const auto& d = decider->seen.get();
        if (!d) return std::nullopt;
        return std::find(d->begin(), d->end(), txn) != d->end();
      };
    }
    e->shards_.push_back(std::make_unique<shard::Shard>(std::move(so)));
  }
  e->wire_key_probes();
  // Shards recover in parallel, each on its own thread.
  std::vector<Status> results(wanted);
  std::vector<std::thread> starters;
  for (unsigned i = 0; i < wanted; ++i) {
    starters.emplace_back([&, i] { results[i] = e->shards_[i]->start(); });
  }
  for (auto& t : starters) t.join();
  for (auto& r : results) {
    if (!r) return r;  // the destructor stops the shards that did start
  }
  // Recovery's read chunks (and the buffers it went through) were freed,
  // but the allocator keeps such memory in the recovery threads' arenas:
  // 230 MB resident after opening a 2.8 GB log that holds 20 MB of state.
  // Give it back, so that the resident size is what the engine holds.
  ::malloc_trim(0);
  return e;
}

void Engine::wire_key_probes() {
  shard::Shard* kvs = &kv();
  for (auto& sp : shards_) {
    shard::Shard* home = sp.get();
    home->set_key_probe([home, kvs](std::string name, runtime::Function<void(bool), 256> done) {
      if (home == kvs) return done(kvs->kv().has_key(name));
      kvs->post([home, kvs, name = std::move(name), done = std::move(done)]() mutable {
        bool held = kvs->kv().has_key(name);
        home->post([held, done = std::move(done)] { done(held); });
      });
    });
  }
}

void Engine::stop() {
  if (stopped_) return;
  stopped_ = true;
  // The key-value shard last: the others may still ask it about names.
  // Every loop stops before any goes away: a shard still stopping may post
  // to one that has stopped (a key probe's answer, a transaction's next
  // step), which then drops the task.
  for (auto it = shards_.rbegin(); it != shards_.rend(); ++it) (*it)->stop();
  for (auto& s : shards_) s->free();
}

unsigned Engine::shard_count() const { return static_cast<unsigned>(shards_.size()); }

unsigned Engine::shard_of(std::string_view stream) const {
  return static_cast<unsigned>(XXH3_64bits(stream.data(), stream.size()) % shards_.size());
}

runtime::Reactor& Engine::context(unsigned shard) { return shards_.at(shard)->reactor(); }

const RecoveryReport& Engine::recovery_report(unsigned shard) const { return shards_.at(shard)->recovery_report(); }

shard::Shard& Engine::shard_for(std::string_view stream) { return *shards_[shard_of(stream)]; }

// The owning shard is found before the name moves into the task: as two
// arguments of one call, the move could come first.
template <typename Fn>
void Engine::on_stream(std::string stream, Fn&& fn) {
  shard::Shard& home = shard_for(stream);
  run_on(home, [stream = std::move(stream), fn = std::forward<Fn>(fn)](shard::Shard& s) mutable { fn(s, stream); });
}

// ------------------------------------------------------------------ streams

void Engine::append(std::string stream, std::vector<EventData> events, AppendOptions opt, Callback<AppendResult> cb) {
  if (stopped_) return cb(stopped_status());
  on_stream(std::move(stream), [events = std::move(events), opt = std::move(opt),
                             cb = std::move(cb)](shard::Shard& s, std::string& stream) mutable {
    s.writer().append(std::move(stream), std::move(events), std::move(opt), std::move(cb));
  });
}

void Engine::append_lent(std::string stream, const std::vector<EventData>* events, AppendOptions opt,
                         Callback<AppendResult> cb) {
  if (stopped_) return cb(stopped_status());
  on_stream(std::move(stream), [events, opt = std::move(opt), cb = std::move(cb)](shard::Shard& s,
                                                                                   std::string& stream) mutable {
    s.writer().append_lent(std::move(stream), events, std::move(opt), std::move(cb));
  });
}

void Engine::read(std::string stream, ReadSpec spec, Callback<ReadResult> cb) {
  if (stopped_) return cb(stopped_status());
  on_stream(std::move(stream), [spec, cb = std::move(cb)](shard::Shard& s, std::string& stream) mutable {
    s.reader().read(stream, spec, std::move(cb));
  });
}

void Engine::read_views(std::string stream, ReadSpec spec, EventVisitor visit, ReadDone done) {
  if (stopped_) return done(stopped_status());
  on_stream(std::move(stream), [spec, visit = std::move(visit), done = std::move(done)](
                                   shard::Shard& s, std::string& stream) mutable {
    s.reader().read_views(stream, spec, std::move(visit), std::move(done));
  });
}

void Engine::stream_info(std::string stream, Callback<StreamInfo> cb) {
  if (stopped_) return cb(stopped_status());
  on_stream(std::move(stream), [cb = std::move(cb)](shard::Shard& s, std::string& stream) mutable {
    s.admin().info(stream, std::move(cb));
  });
}

void Engine::list_streams(std::string prefix, Callback<std::vector<std::string>> cb) {
  if (stopped_) return cb(stopped_status());
  auto g = std::make_shared<Gather<std::vector<std::string>>>();
  g->remaining = shards_.size();
  g->cb = std::move(cb);
  for (auto& sp : shards_) {
    sp->post([s = sp.get(), g, prefix] {
      std::vector<std::string> mine;
      s->table().list(prefix, &mine);
      std::lock_guard lk(g->mu);
      g->total.insert(g->total.end(), mine.begin(), mine.end());
      if (--g->remaining > 0) return;
      std::sort(g->total.begin(), g->total.end());
      g->cb(std::move(g->total));
    });
  }
}

void Engine::storage_stats(Callback<StorageStats> cb) {
  if (stopped_) return cb(stopped_status());
  auto g = std::make_shared<Gather<StorageStats>>();
  g->remaining = shards_.size();
  g->cb = std::move(cb);
  for (auto& sp : shards_) {
    sp->post([s = sp.get(), g] {
      log::Log& l = s->log();
      std::lock_guard lk(g->mu);
      g->total.segments += l.segment_count();
      g->total.allocated_bytes += l.segment_count() * l.segment_bytes();
      g->total.used_bytes += l.written_end() - l.first_offset();
      if (--g->remaining == 0) g->cb(g->total);
    });
  }
}

void Engine::delete_stream(std::string stream, Callback<bool> cb) {
  if (stopped_) return cb(stopped_status());
  on_stream(std::move(stream), [cb = std::move(cb)](shard::Shard& s, std::string& stream) mutable {
    s.admin().delete_stream(stream, std::move(cb));
  });
}

void Engine::stream_expire(std::string stream, KvExpire e, Callback<bool> cb) {
  if (stopped_) return cb(stopped_status());
  on_stream(std::move(stream), [e, cb = std::move(cb)](shard::Shard& s, std::string& stream) mutable {
    s.admin().expire(stream, e, std::move(cb));
  });
}

void Engine::stream_expiry_stats(Callback<KvExpiryStats> cb) {
  if (stopped_) return cb(stopped_status());
  auto g = std::make_shared<Gather<KvExpiryStats>>();
  g->remaining = shards_.size();
  g->cb = std::move(cb);
  for (auto& sp : shards_) {
    sp->post([s = sp.get(), g] {
      KvExpiryStats mine = s->admin().expiry_stats();
      std::lock_guard lk(g->mu);
      g->total.add(mine);
      if (--g->remaining == 0) g->cb(std::move(g->total));
    });
  }
}

void Engine::delete_events(std::string stream, std::vector<StreamId> ids, Callback<uint64_t> cb) {
  if (stopped_) return cb(stopped_status());
  on_stream(std::move(stream), [ids = std::move(ids), cb = std::move(cb)](
                                shard::Shard& s, std::string& stream) mutable { s.admin().delete_events(stream, std::move(ids), std::move(cb)); });
}

void Engine::trim(std::string stream, TrimSpec spec, Callback<uint64_t> cb) {
  if (stopped_) return cb(stopped_status());
  on_stream(std::move(stream), [spec, cb = std::move(cb)](shard::Shard& s, std::string& stream) mutable {
    s.trims().trim(stream, spec, std::move(cb));
  });
}

void Engine::set_last_id(std::string stream, StreamId last, std::optional<uint64_t> entries_added,
                         std::optional<StreamId> max_deleted, Callback<bool> cb) {
  if (stopped_) return cb(stopped_status());
  on_stream(std::move(stream), [last, entries_added, max_deleted,
                             cb = std::move(cb)](shard::Shard& s, std::string& stream) mutable {
    s.admin().set_last_id(stream, last, entries_added, max_deleted, std::move(cb));
  });
}

std::shared_ptr<Subscription> Engine::subscribe(std::string stream, SubscribeOptions opt,
                                                Subscription::Handler handler, StatusCallback end) {
  auto& sh = shard_for(stream);
  auto sub = std::make_shared<shard::StreamSubscriber>(sh.reactor(), &sh.subscriptions(), std::move(stream), opt,
                                                       std::move(handler), std::move(end));
  if (stopped_) {
    sub->cancel();
    return sub;
  }
  run_on(sh, [sub](shard::Shard& s) { s.subscriptions().subscribe(sub); });
  return sub;
}

namespace {
// Fans one subscription out over every shard.
class MultiSubscription : public Subscription {
 public:
  void cancel() override {
    for (auto& s : parts) s->cancel();
  }
  std::vector<std::shared_ptr<Subscription>> parts;
};
}  // namespace

std::shared_ptr<Subscription> Engine::subscribe_all(std::string prefix, bool from_start, Subscription::Handler handler,
                                                    StatusCallback end) {
  auto multi = std::make_shared<MultiSubscription>();
  auto once = std::make_shared<std::once_flag>();
  auto end_once = [once, end = std::move(end)](Status s) {
    std::call_once(*once, [&] {
      if (end) end(std::move(s));
    });
  };
  for (auto& sp : shards_) {
    auto* sh = sp.get();
    auto sub = std::make_shared<shard::TailSubscriber>(sh->reactor(), &sh->tails(), prefix, from_start, handler,
                                                       [end_once, multi](Status s) {
                                                         end_once(s);
                                                         multi->cancel();
                                                       });
    multi->parts.push_back(sub);
    if (stopped_) {
      sub->cancel();
      continue;
    }
    run_on(*sh, [sub](shard::Shard& s) { s.tails().add(sub); });
  }
  return multi;
}

// ------------------------------------------------------------------ consumer groups

void Engine::group_create(std::string stream, std::string group, StreamId last, bool mkstream,
                          std::optional<uint64_t> entries_read, Callback<bool> cb) {
  if (stopped_) return cb(stopped_status());
  on_stream(std::move(stream), [group = std::move(group), last, mkstream, entries_read,
                             cb = std::move(cb)](shard::Shard& s, std::string& stream) mutable {
    s.groups().create(stream, group, last, mkstream, entries_read, std::move(cb));
  });
}

void Engine::group_destroy(std::string stream, std::string group, Callback<bool> cb) {
  if (stopped_) return cb(stopped_status());
  on_stream(std::move(stream), [group = std::move(group), cb = std::move(cb)](
                                shard::Shard& s, std::string& stream) mutable { s.groups().destroy(stream, group, std::move(cb)); });
}

void Engine::group_set_id(std::string stream, std::string group, StreamId last, std::optional<uint64_t> entries_read,
                          Callback<bool> cb) {
  if (stopped_) return cb(stopped_status());
  on_stream(std::move(stream), [group = std::move(group), last, entries_read,
                             cb = std::move(cb)](shard::Shard& s, std::string& stream) mutable {
    s.groups().set_id(stream, group, last, entries_read, std::move(cb));
  });
}

void Engine::consumer_create(std::string stream, std::string group, std::string consumer, Callback<bool> cb) {
  if (stopped_) return cb(stopped_status());
  on_stream(std::move(stream), [group = std::move(group), consumer = std::move(consumer),
                             cb = std::move(cb)](shard::Shard& s, std::string& stream) mutable {
    s.groups().create_consumer(stream, group, consumer, std::move(cb));
  });
}

void Engine::consumer_delete(std::string stream, std::string group, std::string consumer, Callback<uint64_t> cb) {
  if (stopped_) return cb(stopped_status());
  on_stream(std::move(stream), [group = std::move(group), consumer = std::move(consumer),
                             cb = std::move(cb)](shard::Shard& s, std::string& stream) mutable {
    s.groups().delete_consumer(stream, group, consumer, std::move(cb));
  });
}

void Engine::group_read(std::string stream, GroupReadOptions opt, Callback<std::vector<GroupEntry>> cb) {
  if (stopped_) return cb(stopped_status());
  on_stream(std::move(stream), [opt = std::move(opt), cb = std::move(cb)](
                                shard::Shard& s, std::string& stream) mutable { s.groups().read(stream, std::move(opt), std::move(cb)); });
}

void Engine::group_read_lent(GroupReadLent* req, Callback<uint64_t> cb) {
  if (stopped_) return cb(stopped_status());
  run_on(shard_for(req->stream),
         [req, cb = std::move(cb)](shard::Shard& s) mutable { s.groups().read_lent(req, std::move(cb)); });
}

void Engine::group_ack(std::string stream, std::string group, std::vector<StreamId> ids, Callback<uint64_t> cb) {
  if (stopped_) return cb(stopped_status());
  on_stream(std::move(stream), [group = std::move(group), ids = std::move(ids),
                             cb = std::move(cb)](shard::Shard& s, std::string& stream) mutable {
    s.groups().ack(stream, group, ids, std::move(cb));
  });
}

void Engine::group_pending_summary(std::string stream, std::string group, Callback<PendingSummary> cb) {
  if (stopped_) return cb(stopped_status());
  on_stream(std::move(stream), [group = std::move(group), cb = std::move(cb)](
                                shard::Shard& s, std::string& stream) mutable { s.groups().pending_summary(stream, group, std::move(cb)); });
}

void Engine::group_pending(std::string stream, PendingQuery q, Callback<std::vector<PendingEntry>> cb) {
  if (stopped_) return cb(stopped_status());
  on_stream(std::move(stream), [q = std::move(q), cb = std::move(cb)](
                                shard::Shard& s, std::string& stream) mutable { s.groups().pending(stream, q, std::move(cb)); });
}

void Engine::group_claim(std::string stream, ClaimOptions opt, Callback<ClaimResult> cb) {
  if (stopped_) return cb(stopped_status());
  on_stream(std::move(stream), [opt = std::move(opt), cb = std::move(cb)](
                                shard::Shard& s, std::string& stream) mutable { s.groups().claim(stream, std::move(opt), std::move(cb)); });
}

void Engine::group_consumers(std::string stream, std::string group, Callback<std::vector<ConsumerInfo>> cb) {
  if (stopped_) return cb(stopped_status());
  on_stream(std::move(stream), [group = std::move(group), cb = std::move(cb)](
                                shard::Shard& s, std::string& stream) mutable { s.groups().consumers(stream, group, std::move(cb)); });
}

// ------------------------------------------------------------------ key-value

void Engine::kv_range(RangeRequest req, Callback<RangeResult> cb) {
  if (stopped_) return cb(stopped_status());
  run_on(kv(), [req = std::move(req), cb = std::move(cb)](shard::Shard& s) mutable { s.kv().range(req, std::move(cb)); });
}

void Engine::kv_get(std::string key, KvType type, Callback<std::optional<std::string_view>> view) {
  if (stopped_) return view(stopped_status());
  run_on(kv(), [key = std::move(key), type, view = std::move(view)](shard::Shard& s) mutable {
    s.kv().get(key, type, std::move(view));
  });
}

void Engine::kv_last_change(std::string key, Callback<int64_t> cb) {
  if (stopped_) return cb(stopped_status());
  run_on(kv(), [key = std::move(key), cb = std::move(cb)](shard::Shard& s) mutable { cb(s.kv().last_change(key)); });
}

void Engine::kv_put(std::string key, std::string value, bool prev_kv, Callback<TxnResult> cb) {
  TxnRequest t;
  KvOp op;
  op.kind = KvOp::Kind::kPut;
  op.range.key = std::move(key);
  op.value = std::move(value);
  op.prev_kv = prev_kv;
  t.success.push_back(std::move(op));
  kv_txn(std::move(t), std::move(cb));
}

void Engine::kv_delete(std::string key, std::string range_end, bool prev_kv, Callback<TxnResult> cb) {
  TxnRequest t;
  KvOp op;
  op.kind = KvOp::Kind::kDelete;
  op.range.key = std::move(key);
  op.range.range_end = std::move(range_end);
  op.prev_kv = prev_kv;
  t.success.push_back(std::move(op));
  kv_txn(std::move(t), std::move(cb));
}

void Engine::kv_txn(TxnRequest txn, Callback<TxnResult> cb) {
  if (stopped_) return cb(stopped_status());
  run_on(kv(), [txn = std::move(txn), cb = std::move(cb)](shard::Shard& s) mutable {
    s.kv().txn(std::move(txn), std::move(cb));
  });
}

void Engine::kv_txn_lent(const TxnRequest* txn, Callback<TxnResult> cb) {
  if (stopped_) return cb(stopped_status());
  run_on(kv(), [txn, cb = std::move(cb)](shard::Shard& s) mutable { s.kv().txn_lent(*txn, std::move(cb)); });
}

void Engine::kv_update(std::string key, KvType type, KvUpdater fn, Callback<KvUpdateResult> cb) {
  if (stopped_) return cb(stopped_status());
  run_on(kv(), [key = std::move(key), type, fn = std::move(fn), cb = std::move(cb)](shard::Shard& s) mutable {
    s.kv().update(key, type, fn, std::move(cb));
  });
}

void Engine::kv_compact(int64_t revision, Callback<int64_t> cb) {
  if (stopped_) return cb(stopped_status());
  run_on(kv(), [revision, cb = std::move(cb)](shard::Shard& s) mutable { s.kv().compact(revision, std::move(cb)); });
}

void Engine::kv_expire(std::string key, KvExpire e, Callback<bool> cb) {
  if (stopped_) return cb(stopped_status());
  run_on(kv(), [key = std::move(key), e, cb = std::move(cb)](shard::Shard& s) mutable {
    s.kv().expire(key, e, std::move(cb));
  });
}

void Engine::kv_deadline(std::string key, Callback<int64_t> cb) {
  if (stopped_) return cb(stopped_status());
  run_on(kv(), [key = std::move(key), cb = std::move(cb)](shard::Shard& s) mutable { cb(s.kv().deadline(key)); });
}

void Engine::kv_expiry_stats(Callback<KvExpiryStats> cb) {
  if (stopped_) return cb(stopped_status());
  run_on(kv(), [cb = std::move(cb)](shard::Shard& s) mutable { cb(s.kv().expiry_stats()); });
}

void Engine::kv_status(Callback<KvStatus> cb) {
  if (stopped_) return cb(stopped_status());
  run_on(kv(), [cb = std::move(cb)](shard::Shard& s) mutable { s.kv().status(std::move(cb)); });
}

std::shared_ptr<Subscription> Engine::kv_watch(WatchOptions opt, WatchHandler handler, StatusCallback end) {
  auto& sh = kv();
  auto w = std::make_shared<shard::KvWatcher>(sh.reactor(), &sh.watchers(), std::move(opt), std::move(handler),
                                              std::move(end));
  if (stopped_) {
    w->cancel();
    return w;
  }
  run_on(sh, [w](shard::Shard& s) { s.watchers().watch(w); });
  return w;
}

}  // namespace redcar
