#include "frontends/grpc/event_readers.h"

#include <atomic>
#include <mutex>
#include <optional>

#include "frontends/grpc/cloudevent_codec.h"
#include "frontends/grpc/encoded_events.h"
#include "frontends/grpc/event_requests.h"
#include "frontends/grpc/grpc_status.h"
#include "frontends/grpc/session_reactor.h"
#include "frontends/grpc/stream_outbox.h"

namespace redcar::grpcfe {

namespace v1 = ::redcar::v1;

namespace {

constexpr uint32_t kCaughtUpField = 2;  // SubscribeResponse.caught_up
constexpr uint32_t kEventsField = 1;    // ReadResponse.events, SubscribeResponse.events

// Events asked of the engine per page of a backward read at first; later
// pages aim at kMaxMessageBytes from the sizes seen. (A forward read stops
// itself when its page is full.)
constexpr uint64_t kFirstPageEvents = 256;

// A raw request parsed, or why it is refused.
template <typename Request>
bool parse_request(const ServiceContext& ctx, const grpc::ByteBuffer& raw, const char* name, Request* req,
                   std::string* why) {
  if (raw.Length() > ctx.options.max_request_bytes) {
    *why = "request is " + std::to_string(raw.Length()) + " bytes, more than the limit of " +
           std::to_string(ctx.options.max_request_bytes);
    return false;
  }
  grpc::ByteBuffer copy(raw);
  if (grpc::SerializationTraits<Request>::Deserialize(&copy, req).ok()) return true;
  *why = std::string("the request is not a ") + name;
  return false;
}

// A message's bytes handed to grpc without a copy.
grpc::ByteBuffer message_of(std::unique_ptr<std::string> bytes) {
  grpc::Slice slice = owned_slice(std::move(*bytes));
  return grpc::ByteBuffer(&slice, 1);
}

// Pages through a range of one stream. Each page is a ReadResponse's bytes,
// written event by event from what the engine reads: forward, straight from
// the log's bytes on the stream's shard (Engine::read_views), so an event's
// data is copied once on its way to the socket; backward, from the events
// the engine copies out. A page is read ahead: while one page is being
// written, the engine reads the next (from disk, for a range no longer
// cached), so the disk and the network overlap instead of taking turns. At
// most two pages are held: the one being written and the one read ahead.
//
// The page being filled belongs to the read in flight (filling_, fill_):
// the shard's thread fills it without a lock. The rest is shared by the
// engine's callbacks and grpc's reactions under mu_; the reactor finishes
// only once neither a read nor a write is outstanding, so no callback
// outlives it.
class ReadReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  explicit ReadReactor(grpc::Status refused) { Finish(std::move(refused)); }

  ReadReactor(ServiceContext& ctx, const v1::ReadRequest& req) : ctx_(&ctx) {
    if (auto st = check_size(req, ctx.options); !st.ok()) {
      Finish(st);
      return;
    }
    if (auto why = check_name("stream", req.stream(), limits::kMaxNameBytes); !why.empty()) {
      Finish(invalid_argument(why));
      return;
    }
    if (req.has_to() && req.to() < req.from()) {
      Finish(invalid_argument("to (" + std::to_string(req.to()) + ") is below from (" + std::to_string(req.from()) + ")"));
      return;
    }
    stream_ = req.stream();
    lo_ = req.from();
    hi_ = req.has_to() ? req.to() : UINT64_MAX;
    remaining_ = req.max_count() ? req.max_count() : UINT64_MAX;
    backwards_ = req.backwards();
    std::unique_lock lock(mu_);
    reading_ = true;
    ReadSpec spec = next_spec();
    lock.unlock();
    read(spec);
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock lock(mu_);
    writing_ = false;
    if (!ok && !failed_) failed_ = grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
    step(std::move(lock));
  }
  void OnCancel() override {
    std::lock_guard lock(mu_);
    if (!failed_) failed_ = grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
  }
  void OnDone() override { delete this; }

 private:
  // What the page being filled holds so far.
  struct Fill {
    uint64_t taken = 0;
    uint64_t last = 0;  // the number of the last event taken
    bool full = false;  // an event was left for the next page
  };

  // Under mu_: the next engine read, from where the last page ended.
  ReadSpec next_spec() const {
    ReadSpec spec;
    spec.from_number = lo_;
    spec.to_number = hi_;
    spec.reverse = backwards_;
    spec.count = backwards_ ? std::min(remaining_, page_events_) : remaining_;
    return spec;
  }

  void read(ReadSpec spec) {
    filling_ = std::make_unique<std::string>();
    filling_->reserve(kMaxMessageBytes);
    fill_ = Fill{};
    if (backwards_) return read_copies(spec);
    ctx_->engine.read_views(
        stream_, spec, [this](const EventView& e) { return add(e); },
        [this](Status st) {
          std::unique_lock lock(mu_);
          if (st.is_ok() && first_ && fill_.taken == 0) {
            // Nothing read: an empty range of a stream, or no stream at all.
            lock.unlock();
            return check_exists();
          }
          reading_ = false;
          if (!failed_) {
            if (!st.is_ok()) failed_ = to_grpc(st);
            else take_page(fill_.full);
          }
          step(std::move(lock));
        });
  }

  void read_copies(ReadSpec spec) {
    ctx_->engine.read(stream_, spec, [this, asked = spec.count](Result<ReadResult> r) {
      if (r && r->exists) {
        for (const Event& e : r->events) {
          if (!add(e)) break;
        }
      }
      std::unique_lock lock(mu_);
      reading_ = false;
      if (!failed_) {
        if (!r) failed_ = to_grpc(r.status());
        else if (first_ && !r->exists) failed_ = not_found();
        else take_page(fill_.full || r->events.size() >= asked);
      }
      step(std::move(lock));
    });
  }

  // On the stream's shard, without mu_: `e` joins the page unless the page
  // holds an event already and would grow past kMaxMessageBytes.
  template <typename E>
  bool add(const E& e) {
    if (!append_recorded(e, kEventsField, filling_.get(), fill_.taken > 0 ? kMaxMessageBytes : SIZE_MAX)) {
      fill_.full = true;
      return false;
    }
    fill_.taken++;
    fill_.last = e.number;
    return true;
  }

  void check_exists() {
    ctx_->engine.stream_info(stream_, [this](Result<StreamInfo> info) {
      std::unique_lock lock(mu_);
      reading_ = false;
      if (!failed_) {
        if (!info) failed_ = to_grpc(info.status());
        else if (!info->exists) failed_ = not_found();
        else end_ = true;
      }
      step(std::move(lock));
    });
  }

  grpc::Status not_found() const {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "stream '" + stream_ + "' not found");
  }

  // Under mu_: the page filled becomes the page ahead. `more`: the read
  // stopped before the end of what there is (its page was full, or a
  // backward read got all it asked for); otherwise this page is the last.
  void take_page(bool more) {
    first_ = false;
    if (fill_.taken == 0) {
      end_ = true;
      return;
    }
    ahead_ = std::move(filling_);
    remaining_ -= fill_.taken;
    uint64_t last = fill_.last;
    end_ = remaining_ == 0 || !more || (backwards_ ? last == 0 || last <= lo_ : last >= hi_);
    if (backwards_) hi_ = last - (last > 0 ? 1 : 0);
    else lo_ = last + 1;
    page_events_ = std::clamp<uint64_t>(kMaxMessageBytes / std::max<size_t>(1, ahead_->size() / fill_.taken), 1, 4096);
  }

  // Under mu_ (released here): starts what can start now. A page ahead is
  // written once the writer is free; a read starts once there is room for
  // its page; the call finishes once nothing is outstanding.
  void step(std::unique_lock<std::mutex> lock) {
    bool write = false, start_read = false;
    ReadSpec spec;
    if (!failed_ && !writing_ && ahead_) {
      writing_msg_ = message_of(std::move(ahead_));
      writing_ = write = true;
    }
    if (!failed_ && !end_ && !reading_ && !ahead_) {
      reading_ = start_read = true;
      spec = next_spec();
    }
    std::optional<grpc::Status> finish;
    if (!reading_ && !writing_ && !finished_ && (failed_ || (end_ && !ahead_))) {
      finished_ = true;
      finish = failed_ ? *failed_ : grpc::Status::OK;
    }
    lock.unlock();
    if (write) StartWrite(&writing_msg_);
    if (start_read) read(spec);
    if (finish) Finish(*finish);
  }

  ServiceContext* ctx_ = nullptr;
  std::string stream_;
  std::unique_ptr<std::string> filling_;  // the read in flight's page
  Fill fill_;
  std::mutex mu_;
  uint64_t lo_ = 0, hi_ = UINT64_MAX, remaining_ = UINT64_MAX;
  uint64_t page_events_ = kFirstPageEvents;
  bool backwards_ = false;
  bool first_ = true;
  bool end_ = false;      // no page after the last one read
  bool reading_ = false;  // an engine read is outstanding
  bool writing_ = false;  // writing_msg_ is being written
  bool finished_ = false;
  std::optional<grpc::Status> failed_;
  std::unique_ptr<std::string> ahead_;  // the next page, once read
  grpc::ByteBuffer writing_msg_;
};

class SubscribeSession : public std::enable_shared_from_this<SubscribeSession> {
 public:
  using Reactor = WriterSessionReactor<SubscribeSession, grpc::ByteBuffer>;

  SubscribeSession(ServiceContext& ctx, boost::asio::any_io_executor ex, EncodedEvents* encoded, Reactor* r)
      : ctx_(ctx), ex_(std::move(ex)), encoded_(encoded), out_(r) {}

  void start(const v1::SubscribeRequest& req) {
    if (auto st = check(req); !st.ok()) return out_.finish(st);
    std::weak_ptr<SubscribeSession> weak = shared_from_this();
    auto ended = [weak](Status st) {
      if (auto s = weak.lock()) {
        boost::asio::post(s->ex_, [s, st] { s->ended(st); });
      }
    };
    if (req.target_case() != v1::SubscribeRequest::kStream) {
      std::string prefix = req.target_case() == v1::SubscribeRequest::kPrefix ? req.prefix() : "";
      bool from_start = req.from().kind() == v1::Position::BEGINNING;
      // From the beginning the history has no end the server could name; from
      // the end, caught_up says that every shard follows.
      caught_up_ = from_start;
      // Batches of different shards arrive on their threads: hop to ours.
      sub_ = ctx_.engine.subscribe_all(
          prefix, from_start,
          [weak](std::vector<EventPtr> evs, std::function<void()> more) {
            // Redis's databases 1 and up keep their own streams (types.h).
            std::erase_if(evs, [](const EventPtr& e) { return redis_database_of(e->stream) != 0; });
            if (auto s = weak.lock()) {
              boost::asio::post(s->ex_, [s, evs = std::move(evs), more = std::move(more)]() mutable {
                s->deliver(std::move(evs), std::move(more));
              });
            }
          },
          ended);
      if (!from_start) {
        // Each shard registers its part in a task posted before these: when
        // every shard has run its probe, every part is in place.
        unsigned shards = ctx_.engine.shard_count();
        auto left = std::make_shared<std::atomic<unsigned>>(shards);
        for (unsigned i = 0; i < shards; ++i) {
          boost::asio::post(ctx_.engine.context(i), [weak, left] {
            if (left->fetch_sub(1) != 1) return;
            if (auto s = weak.lock()) boost::asio::post(s->ex_, [s] { s->report_caught_up(); });
          });
        }
      }
      return;
    }
    SubscribeOptions opt = subscribe_options(req.from());
    if (req.has_to()) opt.to = req.to();
    std::string stream = req.stream();
    // On the stream's shard (this session's executor): what the stream
    // holds now is the history; the subscription starts in the same turn,
    // so nothing is appended in between.
    ctx_.engine.stream_info(stream, [weak, stream, opt, ended](Result<StreamInfo> info) {
      auto s = weak.lock();
      if (!s) return;
      if (!info) return s->out_.finish(to_grpc(info.status()));
      uint64_t next = info->exists ? info->next_number : 0;
      uint64_t start = opt.from == SubscribeOptions::From::kNumber ? opt.number
                       : opt.from == SubscribeOptions::From::kEnd  ? next
                                                                   : info->first_number;
      s->history_end_ = next;
      if (start >= next) s->report_caught_up();
      s->sub_ = s->ctx_.engine.subscribe(
          stream, opt,
          [weak](std::vector<EventPtr> evs, std::function<void()> more) {
            if (auto s = weak.lock()) s->deliver(std::move(evs), std::move(more));
          },
          ended);
      if (!s->out_.attached()) s->sub_->cancel();
    });
  }

  void refuse(grpc::Status st) { out_.finish(std::move(st)); }

  void on_write_done(bool ok) {
    if (!out_.write_done(ok) && sub_) sub_->cancel();
  }
  void on_cancel() {
    if (sub_) sub_->cancel();
    out_.abort(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
  }
  void on_done() {
    if (sub_) sub_->cancel();
    out_.detach();
  }

 private:
  grpc::Status check(const v1::SubscribeRequest& req) {
    if (auto st = check_size(req, ctx_.options); !st.ok()) return st;
    if (auto st = check_position(req.from()); !st.ok()) return st;
    switch (req.target_case()) {
      case v1::SubscribeRequest::kStream:
        if (auto why = check_name("stream", req.stream(), limits::kMaxNameBytes); !why.empty()) {
          return invalid_argument(why);
        }
        if (req.has_to() && req.from().kind() == v1::Position::NUMBER && req.to() < req.from().number()) {
          return invalid_argument("to is below the start");
        }
        return grpc::Status::OK;
      case v1::SubscribeRequest::kPrefix:
      case v1::SubscribeRequest::kAll:
        if (req.target_case() == v1::SubscribeRequest::kAll && !req.all()) {
          return invalid_argument("all must be true when given");
        }
        if (req.from().kind() == v1::Position::NUMBER) {
          return invalid_argument("a subscription to several streams starts at BEGINNING or END, not at a number");
        }
        if (req.has_to()) return invalid_argument("to applies to a subscription to one stream");
        return grpc::Status::OK;
      default: return invalid_argument("a subscription needs a target: stream, prefix or all");
    }
  }

  void report_caught_up() {
    if (caught_up_ || !out_.attached() || out_.finishing()) return;
    caught_up_ = true;
    FramedMessage m;
    m.add_flag(kCaughtUpField);
    out_.send(m.take());
  }

  // A batch becomes messages under kMaxMessageBytes. The one that says
  // caught_up ends with the history's last event (or, when that event is
  // gone, comes just before the first live one): live events that share a
  // batch with the end of the history go in the messages after it. Each
  // event is encoded once for every subscriber (EncodedEvents).
  void deliver(std::vector<EventPtr> evs, std::function<void()> more) {
    if (!out_.attached() || out_.finishing()) return;
    std::vector<grpc::ByteBuffer> msgs;
    FramedMessage m;
    auto next_message = [&] {
      if (!m.empty()) msgs.push_back(m.take());
    };
    auto caught_up = [&] {
      caught_up_ = true;
      m.add_flag(kCaughtUpField);
      next_message();
    };
    for (auto& e : evs) {
      if (!caught_up_ && e->number >= history_end_) caught_up();
      auto framed = encoded_ ? encoded_->framed(e) : frame_event(*e);
      if (m.entries() > 0 && m.bytes() + framed.size() > kMaxMessageBytes) next_message();
      m.add(std::move(framed));
      if (!caught_up_ && e->number + 1 >= history_end_) caught_up();
    }
    next_message();
    if (msgs.empty()) return more();
    // The engine's next batch is asked for once the last of these is written.
    for (size_t i = 0; i + 1 < msgs.size(); ++i) out_.send(std::move(msgs[i]));
    out_.send(std::move(msgs.back()), std::move(more));
  }

  void ended(const Status& st) {
    if (st.is_ok()) return out_.finish(grpc::Status::OK);  // reached `to`
    out_.finish(to_grpc(st));
  }

  ServiceContext& ctx_;
  boost::asio::any_io_executor ex_;
  EncodedEvents* encoded_;
  StreamOutbox<Reactor, grpc::ByteBuffer> out_;
  std::shared_ptr<Subscription> sub_;
  uint64_t history_end_ = 0;
  bool caught_up_ = false;
};

}  // namespace

grpc::ServerWriteReactor<grpc::ByteBuffer>* start_read(ServiceContext& ctx, grpc::CallbackServerContext*,
                                                       const grpc::ByteBuffer* raw) {
  v1::ReadRequest req;
  std::string why;
  if (!parse_request(ctx, *raw, "ReadRequest", &req, &why)) return new ReadReactor(invalid_argument(why));
  return new ReadReactor(ctx, req);
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* start_subscribe(ServiceContext& ctx,
                                                            std::vector<std::unique_ptr<EncodedEvents>>& encoded,
                                                            grpc::CallbackServerContext*, const grpc::ByteBuffer* raw) {
  v1::SubscribeRequest req;
  std::string why;
  bool parsed = parse_request(ctx, *raw, "SubscribeRequest", &req, &why);
  unsigned shard = parsed && req.target_case() == v1::SubscribeRequest::kStream ? ctx.engine.shard_of(req.stream()) : 0;
  auto ex = ctx.engine.context(shard).get_executor();
  auto* r = new SubscribeSession::Reactor(ex, &ctx.live_sessions);
  auto s = std::make_shared<SubscribeSession>(ctx, ex, encoded.at(shard).get(), r);
  r->attach(s);
  if (!parsed) {
    boost::asio::post(ex, [s, why] { s->refuse(invalid_argument(why)); });
    return r;
  }
  boost::asio::post(ex, [s, req = std::move(req)] { s->start(req); });
  return r;
}

}  // namespace redcar::grpcfe
