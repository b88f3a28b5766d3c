#include "frontends/resp/pubsub.h"

#include <boost/asio/post.hpp>
#include <cctype>
#include <utility>
#include <vector>

#include "frontends/resp/resp_writer.h"

namespace redcar::resp {

size_t PubSub::publish(const std::string& channel, const std::string& message) {
  std::vector<std::pair<ClientPtr, std::string>> targets;  // client, pattern ("" for the channel)
  {
    std::lock_guard lk(mu_);
    if (auto it = channels_.find(channel); it != channels_.end()) {
      for (auto& [id, w] : it->second) {
        if (auto c = w.lock()) targets.push_back({c, {}});
      }
    }
    for (auto& [pat, subs] : patterns_) {
      if (!glob_match(pat, channel)) continue;
      for (auto& [id, w] : subs) {
        if (auto c = w.lock()) targets.push_back({c, pat});
      }
    }
  }
  for (auto& [c, pat] : targets) {
    boost::asio::post(c->executor(), [c = c, pat = pat, channel, message] {
      std::string bytes;
      ReplyWriter w(bytes, c->protocol);
      if (pat.empty()) {
        w.push(3);
        w.bulk("message");
      } else {
        w.push(4);
        w.bulk("pmessage");
        w.bulk(pat);
      }
      w.bulk(channel);
      w.bulk(message);
      c->push(std::move(bytes));
    });
  }
  return targets.size();
}

void PubSub::subscribe(const ClientPtr& c, const std::string& channel, bool pattern) {
  std::lock_guard lk(mu_);
  (pattern ? patterns_ : channels_)[channel][c->id] = c;
}

void PubSub::drop(std::map<std::string, Subscribers>& m, const std::string& name, uint64_t id) {
  auto it = m.find(name);
  if (it == m.end()) return;
  it->second.erase(id);
  if (it->second.empty()) m.erase(it);
}

void PubSub::unsubscribe(const Client& c, const std::string& channel, bool pattern) {
  std::lock_guard lk(mu_);
  drop(pattern ? patterns_ : channels_, channel, c.id);
}

void PubSub::forget(const Client& c) {
  std::lock_guard lk(mu_);
  for (auto& ch : c.channels) drop(channels_, ch, c.id);
  for (auto& p : c.patterns) drop(patterns_, p, c.id);
}

size_t PubSub::channel_count() const {
  std::lock_guard lk(mu_);
  return channels_.size();
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
