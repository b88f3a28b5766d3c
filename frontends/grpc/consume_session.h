// Consume: one member of a consumer group, as a bidirectional stream.
//
// The member Joins (creating the group if asked), then grants credit with
// Receive; the session delivers up to that many events: first the member's
// own pending events (from an earlier session), then events other members
// left unacknowledged past the ack timeout or gave back, then new ones.
// Ack and Nack take event numbers; Claim takes over idle events on request.
// When the call ends, the events this member still holds are given back at
// once (made to look idle past any ack timeout), and the other members of the
// group on this server are woken to claim them: a member that dies loses
// nothing, and nobody waits out a timeout for it.
//
// A session lives on one shard's thread (chosen round-robin); the engine's
// answers are posted there. The registry of sessions per group is the only
// shared state, under its own lock.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "frontends/grpc/grpc_server.h"
#include "redcar/v1/events.grpc.pb.h"

namespace redcar::grpcfe {

class ConsumeSession;

inline constexpr uint64_t kMaxConsumerCredit = 100000;
inline constexpr uint32_t kDefaultAckTimeoutMs = 30000;
inline constexpr uint32_t kMaxAckTimeoutMs = 24u * 3600 * 1000;
// How often, at least and at most, a member looks for events left idle past
// its ack timeout (a quarter of it, within these). Events given back are
// claimed at once, not at the next look.
inline constexpr int64_t kMinClaimPeriodMs = 50;
inline constexpr int64_t kMaxClaimPeriodMs = 5000;

class ConsumerRegistry {
 public:
  void add(const std::string& group_key, std::weak_ptr<ConsumeSession> s);
  void remove(const std::string& group_key, const ConsumeSession* s);
  // Wakes every member of the group to claim what was given back.
  void poke(const std::string& group_key);
  unsigned next_shard(unsigned shards) { return next_++ % shards; }

 private:
  std::mutex mu_;
  std::map<std::string, std::vector<std::weak_ptr<ConsumeSession>>> groups_;
  std::atomic<unsigned> next_{0};
};

grpc::ServerBidiReactor<::redcar::v1::ConsumeRequest, ::redcar::v1::ConsumeResponse>* start_consume(
    ServiceContext& ctx, std::shared_ptr<ConsumerRegistry> registry, grpc::CallbackServerContext* call);

}  // namespace redcar::grpcfe
