#include "frontends/grpc/consume_session.h"

#include <chrono>

#include "frontends/grpc/cloudevent_codec.h"
#include "frontends/grpc/event_readers.h"
#include "frontends/grpc/event_requests.h"
#include "frontends/grpc/grpc_status.h"
#include "frontends/grpc/session_reactor.h"
#include "frontends/grpc/stream_outbox.h"
#include "runtime/timer.h"

namespace redcar::grpcfe {

namespace v1 = ::redcar::v1;

void ConsumerRegistry::add(const std::string& key, std::weak_ptr<ConsumeSession> s) {
  std::lock_guard lk(mu_);
  groups_[key].push_back(std::move(s));
}

void ConsumerRegistry::remove(const std::string& key, const ConsumeSession* s) {
  std::lock_guard lk(mu_);
  auto it = groups_.find(key);
  if (it == groups_.end()) return;
  auto& v = it->second;
  v.erase(std::remove_if(v.begin(), v.end(),
                         [s](const std::weak_ptr<ConsumeSession>& w) {
                           auto p = w.lock();
                           return !p || p.get() == s;
                         }),
          v.end());
  if (v.empty()) groups_.erase(it);
}

namespace {

// Events asked of the engine per delivery round.
constexpr uint64_t kDeliveryBatch = 256;
// Deliveries written ahead of the client's reading before the session waits.
constexpr size_t kMaxQueuedDeliveries = 4;

// How long an event given back looks idle: longer than any member's ack
// timeout, so that the next claim of any member takes it. (Not "since the
// epoch": a claim whose delivery time works out to 0 is taken by the engine
// as one made now.)
constexpr int64_t kGivenBackIdleMs = int64_t{kMaxAckTimeoutMs} + 1;

// Gives events of a member back to its group: marks them idle for
// kGivenBackIdleMs, so any member's next claim takes them, and wakes the
// group's members on this server. A copy of what that needs, so that it
// works after the session is gone.
struct GiveBack {
  Engine* engine;
  std::shared_ptr<ConsumerRegistry> registry;
  std::string stream, group, consumer, key;

  void operator()(std::vector<StreamId> ids, Callback<ClaimResult> then = nullptr) const {
    if (ids.empty()) return;
    ClaimOptions o;
    o.group = group;
    o.consumer = consumer;
    o.ids = std::move(ids);
    o.just_id = true;  // a give-back is not a delivery: the count stays
    o.idle_ms = kGivenBackIdleMs;
    engine->group_claim(stream, o, [registry = registry, key = key, then = std::move(then)](Result<ClaimResult> r) {
      registry->poke(key);
      if (then) then(std::move(r));
    });
  }
};

}  // namespace

class ConsumeSession : public std::enable_shared_from_this<ConsumeSession> {
 public:
  using Reactor = BidiSessionReactor<ConsumeSession, v1::ConsumeRequest, v1::ConsumeResponse>;

  ConsumeSession(ServiceContext& ctx, std::shared_ptr<ConsumerRegistry> registry, runtime::Reactor& loop, Reactor* r)
      : ctx_(ctx), registry_(std::move(registry)), loop_(loop), ex_(loop.get_executor()), reactor_(r), out_(r) {}

  void start() { read_next(); }

  // Something was given back in the group: look for it now, from the start
  // of the pending list. Callable from any thread.
  void poke() {
    boost::asio::post(ex_, [s = shared_from_this()] {
      if (s->ended_ || !s->joined_) return;
      s->claim_due_ = true;
      s->claim_restart_ = true;
      s->pump();
    });
  }

  void on_read(bool ok) {
    reading_ = false;
    if (!reactor_ || out_.finishing()) return;
    if (!ok) return end(grpc::Status::OK);  // the member is leaving
    if (req_.ByteSizeLong() > ctx_.options.max_request_bytes) return end(invalid_argument("request is too large"));
    if (!joined_ && !joining_ && req_.request_case() != v1::ConsumeRequest::kJoin) {
      return end(invalid_argument("the first request of a Consume call must be a join"));
    }
    switch (req_.request_case()) {
      case v1::ConsumeRequest::kJoin:
        if (joined_ || joining_) return end(invalid_argument("a Consume call joins once"));
        return join(req_.join());  // reads on once joined
      case v1::ConsumeRequest::kReceive: {
        uint64_t n = req_.receive().count();
        if (n == 0) return end(invalid_argument("receive needs a count of at least 1"));
        if (n > kMaxConsumerCredit || credits_ + n > kMaxConsumerCredit) {
          return end(out_of_range("credit beyond " + std::to_string(kMaxConsumerCredit) + " events"));
        }
        credits_ += n;
        pump();
        break;
      }
      case v1::ConsumeRequest::kAck: ack(numbers(req_.ack().numbers()), false); break;
      case v1::ConsumeRequest::kNack: ack(numbers(req_.nack().numbers()), true); break;
      case v1::ConsumeRequest::kClaim: claim(req_.claim()); break;
      default: return end(invalid_argument("an empty Consume request"));
    }
    read_next();
  }

  void on_write_done(bool ok) {
    if (!out_.write_done(ok)) return end(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
    read_next();
    pump();
  }

  void on_cancel() { end(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled")); }

  void on_done() {
    end(grpc::Status(grpc::StatusCode::CANCELLED, "done"));
    out_.detach();
    reactor_ = nullptr;
  }

 private:
  template <typename T>
  Callback<T> here(std::function<void(ConsumeSession&, Result<T>)> fn) {
    std::weak_ptr<ConsumeSession> weak = shared_from_this();
    return on<T>(ex_, [weak, fn = std::move(fn)](Result<T> r) {
      if (auto s = weak.lock()) {
        if (!s->ended_) fn(*s, std::move(r));
      }
    });
  }

  // For the answers that hand this member events (delivery rounds and
  // claims): if the session has ended meanwhile, or is gone, nobody will
  // send them, so they are given back like the events it held.
  template <typename T>
  Callback<T> delivering(std::function<void(ConsumeSession&, Result<T>)> fn) {
    std::weak_ptr<ConsumeSession> weak = shared_from_this();
    return on<T>(ex_, [weak, give = giver(), fn = std::move(fn)](Result<T> r) {
      auto s = weak.lock();
      if (s && !s->ended_) return fn(*s, std::move(r));
      if (r) give(ids_of(*r));
    });
  }
  static std::vector<StreamId> ids_of(const std::vector<GroupEntry>& entries) {
    std::vector<StreamId> out;
    for (auto& ge : entries) {
      if (ge.event) out.push_back(ge.id);
    }
    return out;
  }
  static std::vector<StreamId> ids_of(const ClaimResult& r) {
    std::vector<StreamId> out;
    for (auto& e : r.events) out.push_back(e.id);
    return out;
  }
  GiveBack giver() const { return GiveBack{&ctx_.engine, registry_, stream_, group_, consumer_, key_}; }

  static std::vector<uint64_t> numbers(const google::protobuf::RepeatedField<uint64_t>& in) {
    return std::vector<uint64_t>(in.begin(), in.end());
  }

  void read_next() {
    if (!reactor_ || reading_ || out_.finishing() || ended_ || joining_) return;
    if (out_.queued() >= kMaxQueuedDeliveries + 4) return;  // the client is not reading: stop taking requests
    reading_ = true;
    reactor_->StartRead(&req_);
  }

  void join(const v1::ConsumeRequest::Join& j) {
    for (auto [what, name, max] : {std::tuple{"stream", &j.stream(), limits::kMaxNameBytes},
                                   std::tuple{"group", &j.group(), kMaxGroupNameBytes},
                                   std::tuple{"consumer", &j.consumer(), kMaxGroupNameBytes}}) {
      if (auto why = check_name(what, *name, max); !why.empty()) return end(invalid_argument(why));
    }
    if (auto st = check_position(j.from()); !st.ok()) return end(st);
    if (j.ack_timeout_ms() > kMaxAckTimeoutMs) {
      return end(out_of_range("ack_timeout_ms is at most " + std::to_string(kMaxAckTimeoutMs)));
    }
    joining_ = true;
    stream_ = j.stream();
    group_ = j.group();
    consumer_ = j.consumer();
    ack_timeout_ms_ = j.ack_timeout_ms() ? j.ack_timeout_ms() : kDefaultAckTimeoutMs;
    key_ = stream_ + '\0' + group_;
    if (!j.create_group()) return register_consumer(false);
    group_start(ctx_.engine, stream_, j.from(), here<GroupStart>([](ConsumeSession& s, Result<GroupStart> at) {
                  if (!at) return s.end(to_grpc(at.status()));
                  s.ctx_.engine.group_create(s.stream_, s.group_, at->last, true, at->entries_read,
                                             s.here<bool>([](ConsumeSession& s, Result<bool> made) {
                                               if (!made && made.status().code() != Code::kAlreadyExists) {
                                                 return s.end(to_grpc(made.status()));
                                               }
                                               s.register_consumer(made.is_ok());
                                             }));
                }));
  }

  void register_consumer(bool created) {
    ctx_.engine.consumer_create(
        stream_, group_, consumer_, here<bool>([created](ConsumeSession& s, Result<bool> ok) {
          if (!ok) {
            if (ok.status().code() == Code::kNotFound) {
              return s.end(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                        "group '" + s.group_ + "' of stream '" + s.stream_ + "' not found"));
            }
            return s.end(to_grpc(ok.status()));
          }
          s.ctx_.engine.group_pending_summary(
              s.stream_, s.group_, s.here<PendingSummary>([created](ConsumeSession& s, Result<PendingSummary> sum) {
                if (!sum) return s.end(to_grpc(sum.status()));
                uint64_t mine = 0;
                for (auto& [c, n] : sum->per_consumer) {
                  if (c == s.consumer_) mine = n;
                }
                s.joined(created, mine);
              }));
        }));
  }

  void joined(bool created, uint64_t pending) {
    joining_ = false;
    joined_ = true;
    registry_->add(key_, weak_from_this());
    // New events wake the session; what it reads is decided by the group.
    SubscribeOptions so;
    so.from = SubscribeOptions::From::kEnd;
    std::weak_ptr<ConsumeSession> weak = shared_from_this();
    wake_ = ctx_.engine.subscribe(
        stream_, so,
        [weak](std::vector<EventPtr>, std::function<void()> more) {
          auto s = weak.lock();
          if (!s) return;
          boost::asio::post(s->ex_, [s] {
            s->wake_pending_ = true;
            s->pump();
          });
          more();
        },
        [](Status) {});
    timer_ = std::make_unique<runtime::Timer>(loop_);
    arm_timer();
    v1::ConsumeResponse r;
    r.mutable_joined()->set_group_created(created);
    r.mutable_joined()->set_pending(pending);
    out_.send(std::move(r));
    read_next();
    pump();
  }

  void arm_timer() {
    int64_t period = std::clamp<int64_t>(ack_timeout_ms_ / 4, kMinClaimPeriodMs, kMaxClaimPeriodMs);
    timer_->start(std::chrono::milliseconds(period), [weak = weak_from_this()] {
      auto s = weak.lock();
      if (!s || s->ended_) return;
      s->claim_due_ = true;
      s->pump();
      s->arm_timer();
    });
  }

  // One delivery round at a time: the member's own history, then what is
  // claimable, then new events.
  void pump() {
    if (!joined_ || ended_ || busy_ || credits_ == 0 || out_.queued() >= kMaxQueuedDeliveries) return;
    uint64_t want = std::min(credits_, kDeliveryBatch);
    busy_ = true;
    if (!history_done_) {
      GroupReadOptions o;
      o.group = group_;
      o.consumer = consumer_;
      o.count = want;
      o.history = true;
      o.after = history_after_;
      return ctx_.engine.group_read(stream_, o, delivering<std::vector<GroupEntry>>([](ConsumeSession& s, auto r) {
                                      s.busy_ = false;
                                      if (!r) return s.end(to_grpc(r.status()));
                                      if (r->empty()) s.history_done_ = true;
                                      else s.history_after_ = r->back().id;
                                      s.deliver(std::move(*r));
                                      s.pump();
                                    }));
    }
    if (claim_due_) {
      ClaimOptions o;
      o.group = group_;
      o.consumer = consumer_;
      o.autoclaim = true;
      o.min_idle_ms = ack_timeout_ms_;
      if (claim_restart_) claim_cursor_ = StreamId{};
      claim_restart_ = false;
      o.start = claim_cursor_;
      o.count = want;
      return ctx_.engine.group_claim(stream_, o, delivering<ClaimResult>([](ConsumeSession& s, Result<ClaimResult> r) {
                                       s.busy_ = false;
                                       if (!r) return s.end(to_grpc(r.status()));
                                       s.claim_cursor_ = r->next_start;
                                       // Done, unless a poke came meanwhile: then again from the start.
                                       if (r->next_start.is_zero() && !s.claim_restart_) s.claim_due_ = false;
                                       s.deliver(claimed_entries(std::move(*r)));
                                       s.pump();
                                     }));
    }
    wake_pending_ = false;
    GroupReadOptions o;
    o.group = group_;
    o.consumer = consumer_;
    o.count = want;
    ctx_.engine.group_read(stream_, o, delivering<std::vector<GroupEntry>>([](ConsumeSession& s, auto r) {
                             s.busy_ = false;
                             if (!r) return s.end(to_grpc(r.status()));
                             bool got = !r->empty();
                             s.deliver(std::move(*r));
                             // Nothing new: wait for a wake, unless one came meanwhile
                             // (new events, or a poke to claim what was given back).
                             if (got || s.wake_pending_ || s.claim_due_) s.pump();
                           }));
  }

  static std::vector<GroupEntry> claimed_entries(ClaimResult r) {
    std::vector<GroupEntry> out;
    for (size_t i = 0; i < r.events.size(); ++i) {
      GroupEntry ge;
      ge.id = r.events[i].id;
      ge.delivery_count = i < r.delivery_counts.size() ? r.delivery_counts[i] : 0;
      ge.event = std::move(r.events[i]);
      out.push_back(std::move(ge));
    }
    return out;
  }

  // Sends entries as events, within the message size, taking credit.
  // Pending entries whose event is gone (trimmed, deleted) are acknowledged:
  // nobody can process them.
  template <typename Add>
  void send_events(std::vector<GroupEntry> entries, Add add) {
    std::vector<StreamId> gone;
    v1::ConsumeResponse r;
    size_t bytes = 0;
    for (auto& ge : entries) {
      if (!ge.event) {
        gone.push_back(ge.id);
        continue;
      }
      size_t b = ge.event->payload.data.size() + ge.event->stream.size() + 128;
      for (auto& f : ge.event->payload.fields) b += f.name.size() + f.value.size() + 8;
      if (bytes > 0 && bytes + b > kMaxMessageBytes) {
        out_.send(std::move(r));
        r = v1::ConsumeResponse();
        bytes = 0;
      }
      bytes += b;
      v1::GroupEvent* g = add(r);
      g->set_delivery_count(ge.delivery_count);
      encode_recorded(*ge.event, g->mutable_event());
      held_[ge.event->number] = ge.id;
    }
    if (bytes > 0) out_.send(std::move(r));
    if (!gone.empty()) ctx_.engine.group_ack(stream_, group_, std::move(gone), [](Result<uint64_t>) {});
  }

  void deliver(std::vector<GroupEntry> entries) {
    uint64_t n = 0;
    for (auto& ge : entries) n += ge.event.has_value();
    credits_ -= std::min(credits_, n);
    send_events(std::move(entries), [](v1::ConsumeResponse& r) { return r.mutable_delivery()->add_events(); });
  }

  // The IDs of `numbers`: from what this session holds, else from the
  // group's pending list (events delivered to this member earlier).
  void resolve(std::vector<uint64_t> numbers, std::function<void(ConsumeSession&, std::vector<StreamId>)> then) {
    std::vector<StreamId> ids;
    std::vector<uint64_t> unknown;
    for (uint64_t n : numbers) {
      auto it = held_.find(n);
      if (it != held_.end()) ids.push_back(it->second);
      else unknown.push_back(n);
    }
    if (unknown.empty()) return then(*this, std::move(ids));
    PendingQuery q;
    q.group = group_;
    q.consumer = consumer_;
    ctx_.engine.group_pending(
        stream_, q,
        here<std::vector<PendingEntry>>([ids = std::move(ids), unknown = std::move(unknown), then = std::move(then)](
                                            ConsumeSession& s, Result<std::vector<PendingEntry>> pel) mutable {
          if (!pel) return s.end(to_grpc(pel.status()));
          std::map<uint64_t, StreamId> by_number;
          for (auto& p : *pel) by_number[p.number] = p.id;
          for (uint64_t n : unknown) {
            auto it = by_number.find(n);
            if (it != by_number.end()) ids.push_back(it->second);
          }
          then(s, std::move(ids));
        }));
  }

  void ack(std::vector<uint64_t> nums, bool give_back) {
    if (!joined_) return end(invalid_argument("join first"));
    resolve(nums, [give_back, nums](ConsumeSession& s, std::vector<StreamId> ids) {
      for (uint64_t n : nums) s.held_.erase(n);
      auto reply = [give_back](ConsumeSession& s, uint64_t count) {
        v1::ConsumeResponse r;
        if (give_back) r.mutable_nacked()->set_count(count);
        else r.mutable_acked()->set_count(count);
        s.out_.send(std::move(r));
      };
      if (ids.empty()) return reply(s, 0);
      if (!give_back) {
        return s.ctx_.engine.group_ack(s.stream_, s.group_, std::move(ids),
                                       s.here<uint64_t>([reply](ConsumeSession& s, Result<uint64_t> n) {
                                         if (!n) return s.end(to_grpc(n.status()));
                                         reply(s, *n);
                                       }));
      }
      s.give_back(std::move(ids), [reply](ConsumeSession& s, uint64_t n) { reply(s, n); });
    });
  }

  // Gives `ids` (held by this member) back to the group; `then` hears how
  // many were.
  void give_back(std::vector<StreamId> ids, std::function<void(ConsumeSession&, uint64_t)> then) {
    Callback<ClaimResult> answer;
    if (then) {
      answer = here<ClaimResult>([then](ConsumeSession& s, Result<ClaimResult> r) {
        if (!r) return s.end(to_grpc(r.status()));
        then(s, r->claimed_ids.size());
      });
    }
    giver()(std::move(ids), std::move(answer));
  }

  void claim(const v1::ConsumeRequest::Claim& c) {
    if (!joined_) return end(invalid_argument("join first"));
    ClaimOptions o;
    o.group = group_;
    o.consumer = consumer_;
    o.autoclaim = true;
    o.min_idle_ms = c.min_idle_ms();
    o.count = c.count() ? c.count() : 100;
    if (o.count > kMaxConsumerCredit) return end(out_of_range("claim count is at most " + std::to_string(kMaxConsumerCredit)));
    ctx_.engine.group_claim(stream_, o, delivering<ClaimResult>([](ConsumeSession& s, Result<ClaimResult> r) {
                              if (!r) return s.end(to_grpc(r.status()));
                              auto entries = claimed_entries(std::move(*r));
                              if (entries.empty()) {
                                v1::ConsumeResponse none;
                                none.mutable_claimed();
                                return s.out_.send(std::move(none));
                              }
                              s.send_events(std::move(entries), [](v1::ConsumeResponse& m) {
                                return m.mutable_claimed()->add_events();
                              });
                            }));
  }

  // Ends the session once: gives back what the member holds, leaves the
  // registry, stops following the stream, and ends the call with `st`.
  void end(grpc::Status st) {
    if (ended_) return;
    ended_ = true;
    if (wake_) wake_->cancel();
    if (timer_) timer_->cancel();
    if (joined_) {
      registry_->remove(key_, this);
      std::vector<StreamId> held;
      for (auto& [n, id] : held_) held.push_back(id);
      held_.clear();
      if (!held.empty()) give_back(std::move(held), nullptr);
    }
    out_.finish(std::move(st));
  }

  ServiceContext& ctx_;
  std::shared_ptr<ConsumerRegistry> registry_;
  runtime::Reactor& loop_;
  boost::asio::any_io_executor ex_;
  Reactor* reactor_;
  StreamOutbox<Reactor, v1::ConsumeResponse> out_;
  v1::ConsumeRequest req_;
  std::string stream_, group_, consumer_, key_;
  uint32_t ack_timeout_ms_ = kDefaultAckTimeoutMs;
  bool reading_ = false;
  bool joining_ = false;
  bool joined_ = false;
  bool ended_ = false;
  bool busy_ = false;          // a delivery round is in the engine
  bool history_done_ = false;
  bool claim_due_ = false;
  bool claim_restart_ = false;  // poked: the next claim round scans from the start
  bool wake_pending_ = false;
  uint64_t credits_ = 0;
  StreamId history_after_;
  StreamId claim_cursor_;
  std::map<uint64_t, StreamId> held_;  // delivered to this member, not yet acked or given back
  std::shared_ptr<Subscription> wake_;
  std::unique_ptr<runtime::Timer> timer_;
};

void ConsumerRegistry::poke(const std::string& key) {
  std::vector<std::shared_ptr<ConsumeSession>> live;
  {
    std::lock_guard lk(mu_);
    auto it = groups_.find(key);
    if (it == groups_.end()) return;
    for (auto& w : it->second) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->poke();
}

grpc::ServerBidiReactor<v1::ConsumeRequest, v1::ConsumeResponse>* start_consume(
    ServiceContext& ctx, std::shared_ptr<ConsumerRegistry> registry, grpc::CallbackServerContext*) {
  runtime::Reactor& loop = ctx.engine.context(registry->next_shard(ctx.engine.shard_count()));
  boost::asio::any_io_executor ex = loop.get_executor();
  auto* r = new ConsumeSession::Reactor(ex, &ctx.live_sessions);
  auto s = std::make_shared<ConsumeSession>(ctx, std::move(registry), loop, r);
  r->attach(s);
  boost::asio::post(ex, [s] { s->start(); });
  return r;
}

}  // namespace redcar::grpcfe
