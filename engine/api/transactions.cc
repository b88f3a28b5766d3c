// Engine::txn_begin and txn_end: the walk over a transaction's shards
// (FORMAT.md, Transactions).
//
// Shards are held in ascending order, the key-value shard first, so two
// transactions never wait on each other in a circle; and because every
// transaction starts at the key-value shard, they run one at a time. At
// the end each shard says whether the transaction wrote there. One shard
// written: its own commit mark settles it. Several: the key-value shard's
// commit mark is the decision, written and durable before any other shard's
// — a log that ends inside the transaction asks it at recovery.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>
#include <utility>

#include "engine/api/engine.h"
#include "engine/shard/shard.h"

namespace redcar {

namespace {

// Crash tests stop the process at a named point of a commit, as a SIGKILL
// would (tests/README.md): REDCAR_CRASH_AT=txn-before-commit (everything
// written, nothing committed) or txn-after-decision (the decision durable,
// the other shards' commit marks not written).
void crash_point(std::string_view point) {
  static const char* at = std::getenv("REDCAR_CRASH_AT");
  if (at == nullptr || point != at) return;
  spdlog::warn("REDCAR_CRASH_AT={}: killing the process here", point);
  ::raise(SIGKILL);
}

// Runs `fn` on shard `s` as work of transaction `txn` (0: none yet), so that
// it gets through the transaction's own holds and waits for another's.
template <typename Fn>
void post_in(shard::Shard* s, uint64_t txn, Fn&& fn) {
  runtime::TxnScope scope(txn);
  s->post(std::forward<Fn>(fn));
}

struct Holding {
  std::vector<shard::Shard*> shards;
  size_t next = 0;
  uint64_t txn = 0;
  Callback<uint64_t> held;
};

void hold_next(std::shared_ptr<Holding> h) {
  if (h->next == h->shards.size()) return h->held(h->txn);
  shard::Shard* s = h->shards[h->next++];
  // The first post carries no transaction yet (the key-value shard numbers
  // it); the others carry it, so that they wait only for another's hold.
  post_in(s, h->txn, [s, h]() mutable {
    s->hold(h->txn, [h](uint64_t txn) mutable {
      h->txn = txn;
      hold_next(std::move(h));
    });
  });
}

struct Ending {
  std::vector<shard::Shard*> shards;
  shard::Shard* decider = nullptr;
  uint64_t txn = 0;
  size_t next = 0;
  std::vector<shard::Shard*> wrote;
  std::vector<shard::Shard*> marks;  // where commit marks go, in order
  Status failed;
  bool decided = false;
  Callback<bool> cb;
};

void release_all(std::shared_ptr<Ending> e) {
  for (shard::Shard* s : e->shards) post_in(s, e->txn, [s, txn = e->txn] { s->release(txn); });
  if (!e->decided && !e->wrote.empty()) return e->cb(e->failed);
  e->cb(!e->wrote.empty());
}

void mark_next(std::shared_ptr<Ending> e) {
  if (e->next == e->marks.size()) return release_all(std::move(e));
  shard::Shard* s = e->marks[e->next++];
  const bool decision = !e->decided && e->marks.size() > 1;
  post_in(s, e->txn, [s, e, decision]() mutable {
    s->commit_mark(e->txn, decision, [e](Status st) mutable {
      if (!st) {
        spdlog::error("transaction {}: commit mark: {}", e->txn, st.to_string());
        // After the decision, recovery completes the transaction from it,
        // which must stay until then.
        if (e->decided) {
          post_in(e->decider, e->txn, [d = e->decider] { d->keep_decisions(); });
          return release_all(std::move(e));
        }
        // Before it, the transaction did not commit; what it wrote stays
        // provisional, so no shard it wrote on may append after it.
        e->failed = st;
        for (shard::Shard* w : e->wrote) post_in(w, e->txn, [w, txn = e->txn, st] { w->abandon(txn, st); });
        return release_all(std::move(e));
      }
      if (!e->decided) {
        e->decided = true;
        if (e->marks.size() > 1) crash_point("txn-after-decision");
      }
      mark_next(std::move(e));
    });
  });
}

void end_next(std::shared_ptr<Ending> e) {
  if (e->next == e->shards.size()) {
    if (e->wrote.size() > 1) {
      e->marks.push_back(e->decider);
      for (shard::Shard* s : e->wrote) {
        if (s != e->decider) e->marks.push_back(s);
      }
    } else {
      e->marks = e->wrote;
    }
    if (!e->marks.empty()) crash_point("txn-before-commit");
    e->next = 0;
    return mark_next(std::move(e));
  }
  shard::Shard* s = e->shards[e->next++];
  post_in(s, e->txn, [s, e]() mutable {
    if (s->end_writes(e->txn)) e->wrote.push_back(s);
    end_next(std::move(e));
  });
}

}  // namespace

std::vector<unsigned> Engine::txn_shards(std::vector<unsigned> shards) const {
  shards.push_back(kv_shard());
  std::sort(shards.begin(), shards.end());
  shards.erase(std::unique(shards.begin(), shards.end()), shards.end());
  shards.erase(std::remove_if(shards.begin(), shards.end(), [this](unsigned i) { return i >= shard_count(); }),
               shards.end());
  return shards;
}

void Engine::txn_begin(std::vector<unsigned> shards, Callback<uint64_t> cb) {
  auto h = std::make_shared<Holding>();
  for (unsigned i : txn_shards(std::move(shards))) h->shards.push_back(shards_[i].get());
  h->held = std::move(cb);
  hold_next(std::move(h));
}

void Engine::txn_end(uint64_t txn, std::vector<unsigned> shards, Callback<bool> cb) {
  auto e = std::make_shared<Ending>();
  for (unsigned i : txn_shards(std::move(shards))) e->shards.push_back(shards_[i].get());
  e->decider = &kv();
  e->txn = txn;
  e->cb = std::move(cb);
  end_next(std::move(e));
}

}  // namespace redcar
