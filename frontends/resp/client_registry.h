// Every client of the RESP front end, by id, with the loop it lives on:
// CLIENT LIST, INFO and KILL find them here, and CLIENT PAUSE's state is
// kept here. A client is added when it connects and removed when it leaves
// (a mutex, taken then and by the admin commands, never per request).
//
// A client's members belong to its thread, so the admin commands visit the
// clients on their own threads: one task per loop carries every client of
// that loop, and the caller's continuation runs on its own loop once every
// loop has answered.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "frontends/resp/client.h"
#include "runtime/reactor.h"

namespace redcar::resp {

class ClientRegistry {
 public:
  void add(const ClientPtr& c);
  void remove(uint64_t id);
  size_t size() const;

  // Runs `visit` for each client on the client's thread (loops run theirs
  // concurrently, so what it writes must be guarded), then `then` on
  // `home`. Clients that left meanwhile are skipped.
  void visit_all(std::function<void(Client&)> visit, runtime::Reactor& home, std::function<void()> then) const;

  // CLIENT PAUSE: until `until_ms` (steady clock, in milliseconds), every
  // command waits, or with `writes_only` the writes. A second pause keeps
  // the later end and the stricter mode.
  void pause(int64_t until_ms, bool writes_only);
  // CLIENT UNPAUSE, or a pause that ended: each client runs what waited.
  void unpause();
  // When the pause a command waits for ends (0: it need not wait).
  int64_t paused_until(bool write) const {
    int64_t until = pause_until_ms_.load(std::memory_order_acquire);
    if (until == 0) return 0;
    if (!write && pause_writes_only_.load(std::memory_order_relaxed)) return 0;
    return until > now_ms() ? until : 0;
  }
  static int64_t now_ms();

 private:
  mutable std::mutex mu_;
  // The loop is kept beside the client, so that the client is locked only
  // on its own thread: a last reference let go elsewhere would destroy it
  // off its thread.
  struct Entry {
    std::weak_ptr<Client> client;
    runtime::Reactor* loop;
  };
  std::map<uint64_t, Entry> clients_;
  std::atomic<int64_t> pause_until_ms_{0};
  std::atomic<bool> pause_writes_only_{false};
};

// CLIENT LIST's line for one client (on its thread), without the newline.
std::string client_line(const Client& c);

}  // namespace redcar::resp
