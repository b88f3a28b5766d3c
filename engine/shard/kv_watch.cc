#include "engine/shard/kv_watch.h"

#include <algorithm>

namespace redcar::shard {

namespace {
constexpr size_t kWatchBatchEvents = 1000;
}

void KvWatcher::detach() { owner_->unwatch(this); }

void KvWatchers::watch(std::shared_ptr<KvWatcher> w) {
  w->cursor_ = w->opt_.start_revision > 0 ? w->opt_.start_revision : kv_.revision() + 1;
  watchers_.push_back(w);
  pump(w);
}

void KvWatchers::unwatch(KvWatcher* w) {
  watchers_.erase(std::remove_if(watchers_.begin(), watchers_.end(), [w](auto& p) { return p.get() == w; }),
                  watchers_.end());
}

void KvWatchers::after_batch() {
  auto ws = watchers_;
  for (auto& w : ws) pump(w);
}

void KvWatchers::close_all(const Status& why) {
  auto ws = std::move(watchers_);
  watchers_.clear();
  for (auto& w : ws) w->finish(why);
}

std::vector<WatchEvent> KvWatchers::next_batch(KvWatcher& w) const {
  std::vector<WatchEvent> evs;
  const auto& changes = kv_.changes();
  auto c = std::lower_bound(changes.begin(), changes.end(), w.cursor_,
                            [](const KvStore::Change& ch, int64_t r) { return ch.rev < r; });
  int64_t last_rev = w.cursor_ - 1;
  for (; c != changes.end(); ++c) {
    // Whole revisions only, so a transaction is never split across batches.
    if (evs.size() >= kWatchBatchEvents && c->rev != last_rev) break;
    last_rev = c->rev;
    if (!in_range(c->key, w.opt_.key, w.opt_.range_end)) continue;
    const auto* hist = kv_.history(c->key);
    if (!hist) continue;
    auto v = std::lower_bound(hist->begin(), hist->end(), c->rev,
                              [](const KvStore::Version& x, int64_t r) { return x.mod < r; });
    if (v == hist->end() || v->mod != c->rev) continue;
    // etcd watches its view: a hash's writes, or another database's, are not its news.
    if (v->type != KvType::kString || redis_database_of(c->key) != 0) continue;
    WatchEvent ev;
    ev.type = v->tombstone ? WatchEvent::Type::kDelete : WatchEvent::Type::kPut;
    ev.kv = KvStore::to_kv(c->key, *v, false);
    if (v->tombstone) {
      ev.kv.create_revision = 0;
      ev.kv.version = 0;
      ev.kv.mod_revision = v->mod;
    }
    if (w.opt_.prev_kv && v != hist->begin() && !std::prev(v)->tombstone && std::prev(v)->type == KvType::kString) {
      ev.prev = KvStore::to_kv(c->key, *std::prev(v), false);
    }
    evs.push_back(std::move(ev));
  }
  if (c == changes.end()) last_rev = kv_.revision();
  w.cursor_ = last_rev + 1;
  return evs;
}

void KvWatchers::pump(const std::shared_ptr<KvWatcher>& w) {
  if (w->done_ || w->in_flight_) return;
  // etcd: the compaction point itself is kept.
  if (w->cursor_ < kv_.compact_revision() && w->opt_.start_revision > 0) {
    unwatch(w.get());
    return w->finish(Status(Code::kCompacted, "revision " + std::to_string(w->cursor_) + " has been compacted")
                         .with_detail(kv_.compact_revision()));
  }
  if (w->cursor_ > kv_.revision()) return;
  std::vector<WatchEvent> evs = next_batch(*w);
  if (evs.empty()) return;
  w->in_flight_ = true;
  auto more = [w, this] {
    w->reactor_.post([w, this] { resume(w); });
  };
  w->handler_(std::move(evs), kv_.revision(), more);
}

void KvWatchers::resume(const std::shared_ptr<KvWatcher>& w) {
  if (gate_ && !gate_->admits()) return gate_->defer([w, this] { resume(w); });
  w->in_flight_ = false;
  pump(w);
}

}  // namespace redcar::shard
