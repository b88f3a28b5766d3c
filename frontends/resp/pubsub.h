// Redis pub/sub across all connections (and shards): which clients listen
// to which channels and patterns, and delivering a message to each on its
// own thread — encoded once, handed to each shard once with the list of
// its subscribers, written at once into the output of those on the
// publisher's shard. Messages are not stored (as in Redis); streams are the
// durable way. A small registry under a mutex: publishing is not on the
// storage path.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "frontends/resp/client.h"

namespace redcar::resp {

class PubSub {
 public:
  // Delivers to every subscriber of `channel` and of a pattern matching it;
  // returns how many receive it.
  size_t publish(const std::string& channel, const std::string& message);
  void subscribe(const ClientPtr& c, const std::string& channel, bool pattern);
  void unsubscribe(const Client& c, const std::string& channel, bool pattern);
  // A client left: drops all its subscriptions.
  void forget(const Client& c);
  size_t channel_count() const;

 private:
  using Subscribers = std::map<uint64_t, std::weak_ptr<Client>>;
  void drop(std::map<std::string, Subscribers>& m, const std::string& name, uint64_t id);

  mutable std::mutex mu_;
  std::map<std::string, Subscribers> channels_;
  std::map<std::string, Subscribers> patterns_;
};

// Redis glob matching (*, ?, [set], [^set], [a-z], \x).
bool glob_match(std::string_view pattern, std::string_view text, bool nocase = false);

}  // namespace redcar::resp
