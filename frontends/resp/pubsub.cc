#include "frontends/resp/pubsub.h"

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

#include "frontends/resp/resp_writer.h"
#include "runtime/txn_scope.h"

namespace redcar::resp {

namespace {

// One published message, encoded once for every subscriber of the channel
// itself (RESP2 and RESP3 differ in the first byte only); pattern
// subscribers get their own frame, which names the pattern.
struct Message {
  Message(const std::string& ch, const std::string& msg, const char* kind) : channel(ch), message(msg) {
    ReplyWriter w2(resp2, 2);
    w2.push(3);
    w2.bulk(kind);
    w2.bulk(channel);
    w2.bulk(message);
    ReplyWriter w3(resp3, 3);
    w3.push(3);
    w3.bulk(kind);
    w3.bulk(channel);
    w3.bulk(message);
  }
  std::string channel, message, resp2, resp3;
};

struct Target {
  ClientPtr client;
  std::string pattern;  // empty: a subscriber of the channel itself
};

// On the subscribers' thread: each gets the frame in its output, which
// leaves with the rest of that turn's output in one send per connection.
void deliver(const Message& m, const std::vector<Target>& targets) {
  std::string scratch;
  for (const Target& t : targets) {
    Client& c = *t.client;
    if (c.closed()) continue;
    if (t.pattern.empty()) {
      c.push(c.protocol >= 3 ? m.resp3 : m.resp2);
      continue;
    }
    scratch.clear();
    ReplyWriter w(scratch, c.protocol);
    w.push(4);
    w.bulk("pmessage");
    w.bulk(t.pattern);
    w.bulk(m.channel);
    w.bulk(m.message);
    c.push(scratch);
  }
}

}  // namespace

size_t PubSub::publish(const std::string& channel, const std::string& message, Kind kind) {
  // The subscribers by the loop they live on (one per shard, so a short
  // list): each loop gets its own in one task, and only the message is
  // shared, so that a subscriber is let go on its own thread.
  std::vector<std::pair<runtime::Reactor*, std::vector<Target>>> by_loop;
  size_t receivers = 0;
  auto add = [&](ClientPtr c, const std::string& pattern) {
    runtime::Reactor* loop = &c->loop();
    auto it = std::find_if(by_loop.begin(), by_loop.end(), [loop](const auto& e) { return e.first == loop; });
    if (it == by_loop.end()) it = by_loop.insert(by_loop.end(), {loop, {}});
    it->second.push_back({std::move(c), pattern});
    ++receivers;
  };
  {
    std::lock_guard lk(mu_);
    const auto& named = kind == Kind::kShard ? shard_channels_ : channels_;
    if (auto it = named.find(channel); it != named.end()) {
      for (auto& [id, w] : it->second) {
        if (auto c = w.lock()) add(std::move(c), {});
      }
    }
    for (auto& [pat, subs] : patterns_) {
      if (kind == Kind::kShard) break;
      if (!glob_match(pat, channel)) continue;
      for (auto& [id, w] : subs) {
        if (auto c = w.lock()) add(std::move(c), pat);
      }
    }
  }
  if (receivers == 0) return 0;
  // Those of the publisher's own loop are written at once, as Redis writes
  // into its subscribers' buffers before it answers.
  auto msg = std::make_shared<const Message>(channel, message, kind == Kind::kShard ? "smessage" : "message");
  // Delivery is the subscribers' work, not a publishing EXEC's transaction.
  runtime::TxnScope none(0);
  for (auto& [loop, targets] : by_loop) {
    if (loop->in_loop_thread()) {
      deliver(*msg, targets);
    } else {
      loop->post([msg, targets = std::move(targets)] { deliver(*msg, targets); });
    }
  }
  return receivers;
}

std::map<std::string, PubSub::Subscribers>& PubSub::of(Kind kind) {
  return kind == Kind::kPattern ? patterns_ : kind == Kind::kShard ? shard_channels_ : channels_;
}

const std::map<std::string, PubSub::Subscribers>& PubSub::of(Kind kind) const {
  return kind == Kind::kPattern ? patterns_ : kind == Kind::kShard ? shard_channels_ : channels_;
}

void PubSub::subscribe(const ClientPtr& c, const std::string& channel, Kind kind) {
  std::lock_guard lk(mu_);
  of(kind)[channel][c->id] = c;
}

void PubSub::drop(std::map<std::string, Subscribers>& m, const std::string& name, uint64_t id) {
  auto it = m.find(name);
  if (it == m.end()) return;
  it->second.erase(id);
  if (it->second.empty()) m.erase(it);
}

void PubSub::unsubscribe(const Client& c, const std::string& channel, Kind kind) {
  std::lock_guard lk(mu_);
  drop(of(kind), channel, c.id);
}

void PubSub::forget(const Client& c) {
  std::lock_guard lk(mu_);
  for (auto& ch : c.channels) drop(channels_, ch, c.id);
  for (auto& p : c.patterns) drop(patterns_, p, c.id);
  for (auto& ch : c.shard_channels) drop(shard_channels_, ch, c.id);
}

size_t PubSub::channel_count() const {
  std::lock_guard lk(mu_);
  return channels_.size();
}

size_t PubSub::pattern_count() const {
  std::lock_guard lk(mu_);
  return patterns_.size();
}

size_t PubSub::shard_channel_count() const {
  std::lock_guard lk(mu_);
  return shard_channels_.size();
}

std::vector<std::string> PubSub::active(Kind kind, const std::string& pattern) const {
  std::lock_guard lk(mu_);
  std::vector<std::string> out;
  for (auto& [name, subs] : of(kind)) {
    if (pattern.empty() || glob_match(pattern, name)) out.push_back(name);
  }
  return out;
}

size_t PubSub::subscribers(Kind kind, const std::string& channel) const {
  std::lock_guard lk(mu_);
  const auto& m = of(kind);
  auto it = m.find(channel);
  return it == m.end() ? 0 : it->second.size();
}

bool glob_match(std::string_view p, std::string_view s, bool nocase) {
  auto eq = [nocase](char a, char b) {
    return nocase ? std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b)) : a == b;
  };
  size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (pi < p.size() && p[pi] == '?') {
      ++pi;
      ++si;
    } else if (pi < p.size() && p[pi] == '[') {
      size_t j = pi + 1;
      bool neg = j < p.size() && p[j] == '^';
      if (neg) ++j;
      bool match = false;
      while (j < p.size() && p[j] != ']') {
        if (p[j] == '\\' && j + 1 < p.size()) {
          match |= eq(p[j + 1], s[si]);
          j += 2;
        } else if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
          char lo = p[j], hi = p[j + 2];
          if (lo > hi) std::swap(lo, hi);
          match |= s[si] >= lo && s[si] <= hi;
          j += 3;
        } else {
          match |= eq(p[j], s[si]);
          ++j;
        }
      }
      if (match != neg && j < p.size()) {
        pi = j + 1;
        ++si;
      } else if (star != std::string_view::npos) {
        pi = star + 1;
        si = ++mark;
      } else {
        return false;
      }
    } else if (pi < p.size() && p[pi] == '\\' && pi + 1 < p.size() && eq(p[pi + 1], s[si])) {
      pi += 2;
      ++si;
    } else if (pi < p.size() && eq(p[pi], s[si])) {
      ++pi;
      ++si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

}  // namespace redcar::resp
