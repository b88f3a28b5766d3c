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
#include <vector>

#include "frontends/resp/client.h"

namespace redcar::resp {

class PubSub {
 public:
  // Channels (SUBSCRIBE), patterns (PSUBSCRIBE), and shard channels
  // (SSUBSCRIBE): a namespace of their own, whose messages are "smessage"s
  // and reach no pattern. With one node every shard channel is local.
  enum class Kind : uint8_t { kChannel, kPattern, kShard };

  // Delivers to every subscriber of `channel` and of a pattern matching it
  // (kShard: of the shard channel); returns how many receive it.
  size_t publish(const std::string& channel, const std::string& message, Kind kind = Kind::kChannel);
  void subscribe(const ClientPtr& c, const std::string& channel, Kind kind);
  void unsubscribe(const Client& c, const std::string& channel, Kind kind);
  // A client left: drops all its subscriptions.
  void forget(const Client& c);
  size_t channel_count() const;
  size_t pattern_count() const;
  size_t shard_channel_count() const;
  // PUBSUB CHANNELS / SHARDCHANNELS: the active ones matching `pattern`
  // (empty: all), sorted.
  std::vector<std::string> active(Kind kind, const std::string& pattern) const;
  // PUBSUB NUMSUB / SHARDNUMSUB.
  size_t subscribers(Kind kind, const std::string& channel) const;

 private:
  using Subscribers = std::map<uint64_t, std::weak_ptr<Client>>;
  void drop(std::map<std::string, Subscribers>& m, const std::string& name, uint64_t id);
  std::map<std::string, Subscribers>& of(Kind kind);
  const std::map<std::string, Subscribers>& of(Kind kind) const;

  mutable std::mutex mu_;
  std::map<std::string, Subscribers> channels_;
  std::map<std::string, Subscribers> patterns_;
  std::map<std::string, Subscribers> shard_channels_;
};

// Redis glob matching (*, ?, [set], [^set], [a-z], \x).
bool glob_match(std::string_view pattern, std::string_view text, bool nocase = false);

}  // namespace redcar::resp
