#include "frontends/resp/client_registry.h"

#include <chrono>
#include <unordered_map>
#include <vector>
#include "runtime/txn_scope.h"

namespace redcar::resp {

int64_t ClientRegistry::now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void ClientRegistry::add(const ClientPtr& c) {
  std::lock_guard lk(mu_);
  clients_[c->id] = {c, &c->loop()};
}

void ClientRegistry::remove(uint64_t id) {
  std::lock_guard lk(mu_);
  clients_.erase(id);
}

size_t ClientRegistry::size() const {
  std::lock_guard lk(mu_);
  return clients_.size();
}

void ClientRegistry::visit_all(std::function<void(Client&)> visit, runtime::Reactor& home,
                               std::function<void()> then) const {
  std::unordered_map<runtime::Reactor*, std::vector<std::weak_ptr<Client>>> by_loop;
  {
    std::lock_guard lk(mu_);
    for (auto& [id, e] : clients_) by_loop[e.loop].push_back(e.client);
  }
  if (by_loop.empty()) return home.post(std::move(then));
  struct Round {
    std::atomic<size_t> loops_left;
    std::function<void(Client&)> visit;
    std::function<void()> then;
    runtime::Reactor* home;
  };
  auto round = std::make_shared<Round>();
  round->loops_left = by_loop.size();
  round->visit = std::move(visit);
  round->then = std::move(then);
  round->home = &home;
  // The visits are the other clients' work, not the caller's transaction's
  // (runtime/txn_scope.h), whatever the caller runs in.
  runtime::TxnScope none(0);
  for (auto& [loop, list] : by_loop) {
    loop->post([round, list = std::move(list)] {
      for (auto& w : list) {
        auto c = w.lock();
        if (c && !c->closed()) round->visit(*c);
      }
      // The continuation is taken out to run, so that what it holds (the
      // caller's reply) is let go on the caller's thread, whichever thread
      // lets go of the round last.
      if (round->loops_left.fetch_sub(1) == 1) {
        round->home->post([round] {
          auto then = std::move(round->then);
          then();
        });
      }
    });
  }
}

void ClientRegistry::pause(int64_t until_ms, bool writes_only) {
  std::lock_guard lk(mu_);
  int64_t now = now_ms();
  int64_t cur = pause_until_ms_.load();
  bool active = cur > now;
  pause_writes_only_.store(active ? (pause_writes_only_.load() && writes_only) : writes_only);
  pause_until_ms_.store(active ? std::max(cur, until_ms) : until_ms, std::memory_order_release);
}

void ClientRegistry::unpause() {
  std::vector<Entry> all;
  {
    std::lock_guard lk(mu_);
    pause_until_ms_.store(0, std::memory_order_release);
    pause_writes_only_.store(false);
    for (auto& [id, e] : clients_) all.push_back(e);
  }
  // What the clients run now is theirs, not the transaction of an EXEC
  // that unpaused them.
  runtime::TxnScope none(0);
  for (auto& e : all) {
    e.loop->post([w = e.client] {
      if (auto c = w.lock()) c->pause_ended();
    });
  }
}

std::string client_line(const Client& c) {
  int64_t now_wall = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
  int64_t age = c.created_ms ? (now_wall - c.created_ms) / 1000 : 0;
  int64_t idle = c.last_active_ms ? (ClientRegistry::now_ms() - c.last_active_ms) / 1000 : age;
  std::string flags;
  if (c.in_multi) flags += 'x';
  if (c.subscribed()) flags += 'P';
  if (c.blocked()) flags += 'b';
  if (c.no_evict) flags += 'e';
  if (c.no_touch) flags += 'T';
  if (c.closed()) flags += 'A';
  if (flags.empty()) flags = "N";
  std::string_view cmd = c.last_command;  // a slot's name, lower case already
  size_t out = c.output_bytes();
  std::string s;
  s.reserve(320);
  s += "id=" + std::to_string(c.id);
  s += " addr=" + c.peer;
  s += " laddr=" + c.local;
  s += " fd=" + std::to_string(c.fd());
  s += " name=" + c.name;
  s += " age=" + std::to_string(age);
  s += " idle=" + std::to_string(idle);
  s += " flags=" + flags;
  s += " db=" + std::to_string(c.db);
  s += " sub=" + std::to_string(c.channels.size());
  s += " psub=" + std::to_string(c.patterns.size());
  s += " ssub=" + std::to_string(c.shard_channels.size());
  s += " multi=" + (c.in_multi ? std::to_string(c.queued.size()) : std::string("-1"));
  s += " qbuf=" + std::to_string(c.input_bytes());
  s += " qbuf-free=0 argv-mem=0 multi-mem=" + std::to_string(c.queued_bytes) + " rbs=0 rbp=0";
  s += " obl=" + std::to_string(out);
  s += " oll=0";
  s += " omem=" + std::to_string(out);
  s += " tot-mem=" + std::to_string(out + c.input_bytes());
  s += " events=r";
  s += " cmd=";
  s += cmd;
  s += " user=" + c.user + " redir=-1";
  s += " resp=" + std::to_string(c.protocol);
  s += " lib-name=" + c.lib_name;
  s += " lib-ver=" + c.lib_ver;
  return s;
}

}  // namespace redcar::resp
