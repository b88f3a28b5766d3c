#include "frontends/grpc/etcd_watch_service.h"

#include <map>

#include "frontends/grpc/etcd_convert.h"
#include "frontends/grpc/session_reactor.h"
#include "frontends/grpc/stream_outbox.h"
#include "runtime/timer.h"

namespace redcar::grpcfe::etcd {

namespace {

// Responses waiting to be written past which requests are no longer read:
// each watch holds at most one batch, so what piles up is control traffic.
constexpr size_t kMaxQueuedResponses = 256;

class WatchSession : public std::enable_shared_from_this<WatchSession> {
 public:
  using Reactor = BidiSessionReactor<WatchSession, pb::WatchRequest, pb::WatchResponse>;

  WatchSession(ServiceContext& ctx, Reactor* r)
      : ctx_(ctx), ex_(ctx.engine.context(ctx.engine.kv_shard()).get_executor()), reactor_(r), out_(r) {}

  boost::asio::any_io_executor executor() const { return ex_; }

  void start() {
    timer_ = std::make_unique<runtime::Timer>(ctx_.engine.context(ctx_.engine.kv_shard()));
    arm_progress_timer();
    read_next();
  }

  void on_read(bool ok) {
    reading_ = false;
    if (!reactor_ || out_.finishing()) return;
    if (!ok) {
      // The client closed its side: etcd ends the stream.
      cancel_all();
      return out_.finish(grpc::Status::OK);
    }
    if (req_.ByteSizeLong() > ctx_.options.max_request_bytes) {
      cancel_all();
      return out_.finish(too_large());
    }
    switch (req_.request_union_case()) {
      case pb::WatchRequest::kCreateRequest: create(req_.create_request()); break;
      case pb::WatchRequest::kCancelRequest: cancel(req_.cancel_request().watch_id()); break;
      case pb::WatchRequest::kProgressRequest:
        progress_requested_ = true;
        check_progress_request();
        break;
      default: break;  // an empty request: etcd ignores it too
    }
    read_next();
  }

  void on_write_done(bool ok) {
    if (!out_.write_done(ok)) {
      cancel_all();
      return;
    }
    read_next();
    check_progress_request();
  }

  void on_cancel() {
    cancel_all();
    out_.abort(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
  }

  void on_done() {
    cancel_all();
    out_.detach();
    reactor_ = nullptr;
    if (timer_) timer_->cancel();
  }

 private:
  struct Watcher {
    std::shared_ptr<Subscription> sub;
    bool no_put = false;
    bool no_delete = false;
    bool fragment = false;
    bool progress_notify = false;
    bool busy = false;             // a batch of ours is queued or being written
    bool sent_since_tick = false;  // progress_notify: nothing to say this round
  };

  void read_next() {
    if (!reactor_ || reading_ || out_.finishing() || out_.queued() >= kMaxQueuedResponses) return;
    reading_ = true;
    reactor_->StartRead(&req_);
  }

  // The store's revision now. The engine answers at once: this session
  // runs on the key-value shard's thread.
  void with_revision(std::function<void(int64_t)> fn) {
    ctx_.engine.kv_status([fn = std::move(fn)](Result<KvStatus> st) { fn(st ? st->revision : 0); });
  }

  pb::WatchResponse response(int64_t revision, int64_t watch_id) {
    pb::WatchResponse r;
    fill_header(ctx_.options, revision, r.mutable_header());
    r.set_watch_id(watch_id);
    return r;
  }

  void create(const pb::WatchCreateRequest& c) {
    int64_t id = c.watch_id();
    std::string refused;
    if (watchers_.size() >= ctx_.options.max_watches_per_stream) {
      refused = "etcdserver: too many watches on this stream (limit " +
                std::to_string(ctx_.options.max_watches_per_stream) + ")";
    } else if (id < 0) {
      refused = "etcdserver: a watch ID must not be negative";
    } else if (id != 0 && watchers_.count(id)) {
      refused = "mvcc: duplicate watch ID provided on the WatchStream";
    }
    for (int f : c.filters()) {
      if (!pb::WatchCreateRequest::FilterType_IsValid(f)) refused = "etcdserver: unknown watch filter " + std::to_string(f);
    }
    if (!refused.empty()) {
      return with_revision([this, refused](int64_t rev) {
        auto r = response(rev, -1);
        r.set_created(true);
        r.set_canceled(true);
        r.set_cancel_reason(refused);
        out_.send(std::move(r));
      });
    }
    if (id == 0) {
      while (watchers_.count(next_id_)) ++next_id_;
      id = next_id_++;
    }
    Watcher& w = watchers_[id];
    for (int f : c.filters()) {
      if (f == pb::WatchCreateRequest::NOPUT) w.no_put = true;
      if (f == pb::WatchCreateRequest::NODELETE) w.no_delete = true;
    }
    w.fragment = c.fragment();
    w.progress_notify = c.progress_notify();
    WatchOptions o;
    o.key = c.key();
    o.range_end = c.range_end();
    o.start_revision = c.start_revision();
    o.prev_kv = c.prev_kv();
    with_revision([this, id, o = std::move(o)](int64_t rev) mutable {
      auto r = response(rev, id);
      r.set_created(true);
      out_.send(std::move(r));
      std::weak_ptr<WatchSession> weak = shared_from_this();
      // The engine may deliver at once, from inside kv_watch: the watcher is
      // already in the map and its `created` already queued.
      auto sub = ctx_.engine.kv_watch(
          std::move(o),
          [weak, id](std::vector<WatchEvent> evs, int64_t revision, std::function<void()> more) {
            if (auto s = weak.lock()) s->deliver(id, std::move(evs), revision, std::move(more));
          },
          [weak, id](Status st) {
            if (auto s = weak.lock()) s->ended(id, std::move(st));
          });
      auto it = watchers_.find(id);
      if (it == watchers_.end()) sub->cancel();  // ended while being made
      else it->second.sub = std::move(sub);
    });
  }

  void deliver(int64_t id, std::vector<WatchEvent> evs, int64_t revision, std::function<void()> more) {
    auto it = watchers_.find(id);
    if (it == watchers_.end() || !reactor_) return;
    Watcher& w = it->second;
    auto r = response(revision, id);
    for (auto& ev : evs) {
      bool put = ev.type == WatchEvent::Type::kPut;
      if ((put && w.no_put) || (!put && w.no_delete)) continue;
      auto* e = r.add_events();
      e->set_type(put ? ::mvccpb::Event::PUT : ::mvccpb::Event::DELETE);
      to_pb(ev.kv, e->mutable_kv());
      if (ev.prev) to_pb(*ev.prev, e->mutable_prev_kv());
    }
    if (r.events_size() == 0) return more();
    w.busy = true;
    w.sent_since_tick = true;
    std::weak_ptr<WatchSession> weak = shared_from_this();
    auto after = [weak, id, more = std::move(more)] {
      auto s = weak.lock();
      if (!s) return;
      auto it = s->watchers_.find(id);
      if (it == s->watchers_.end()) return;
      it->second.busy = false;
      more();
    };
    size_t limit = ctx_.options.max_request_bytes;
    if (!w.fragment || r.ByteSizeLong() <= limit) return out_.send(std::move(r), std::move(after));
    // Fragments: each under the limit (or one event alone), all but the
    // last marked, so the client puts them back together.
    std::vector<pb::WatchResponse> parts;
    pb::WatchResponse cur = response(revision, id);
    for (auto& e : *r.mutable_events()) {
      size_t sz = e.ByteSizeLong();
      if (cur.events_size() > 0 && cur.ByteSizeLong() + sz + 8 > limit) {
        cur.set_fragment(true);
        parts.push_back(std::move(cur));
        cur = response(revision, id);
      }
      *cur.add_events() = std::move(e);
    }
    parts.push_back(std::move(cur));
    for (size_t i = 0; i < parts.size(); ++i) {
      if (i + 1 < parts.size()) out_.send(std::move(parts[i]));
      else out_.send(std::move(parts[i]), std::move(after));
    }
  }

  void ended(int64_t id, Status st) {
    auto it = watchers_.find(id);
    if (it == watchers_.end()) return;  // cancelled by the client: answered then
    watchers_.erase(it);
    if (st.code() == Code::kUnavailable) {
      // The engine is stopping: so is this stream.
      cancel_all();
      return out_.finish(to_grpc(st));
    }
    with_revision([this, id, st](int64_t rev) {
      auto r = response(rev, id);
      r.set_canceled(true);
      r.set_cancel_reason(etcd_error_text(st));
      if (st.code() == Code::kCompacted) r.set_compact_revision(st.detail());
      out_.send(std::move(r));
    });
  }

  void cancel(int64_t id) {
    auto it = watchers_.find(id);
    if (it == watchers_.end()) return;  // etcd says nothing of unknown IDs
    if (it->second.sub) it->second.sub->cancel();
    watchers_.erase(it);
    with_revision([this, id](int64_t rev) {
      auto r = response(rev, id);
      r.set_canceled(true);
      out_.send(std::move(r));
    });
  }

  void cancel_all() {
    for (auto& [id, w] : watchers_) {
      if (w.sub) w.sub->cancel();
    }
    watchers_.clear();
  }

  bool all_idle() const {
    for (auto& [id, w] : watchers_) {
      if (w.busy) return false;
    }
    return true;
  }

  // A progress request is answered (watch ID -1, as etcd does) once every
  // watch has written what it had: the revision it names is then true for
  // all of them. The check runs as a posted task so that batches the engine
  // is about to deliver (their `more()` already posted) come first.
  void check_progress_request() {
    if (!progress_requested_ || !all_idle()) return;
    boost::asio::post(ex_, [weak = weak_from_this()] {
      auto s = weak.lock();
      if (!s || !s->progress_requested_ || !s->all_idle() || !s->reactor_) return;
      s->progress_requested_ = false;
      s->with_revision([s](int64_t rev) { s->out_.send(s->response(rev, -1)); });
    });
  }

  void arm_progress_timer() {
    timer_->start(std::chrono::milliseconds(ctx_.options.watch_progress_interval_ms), [weak = weak_from_this()] {
      auto s = weak.lock();
      if (!s || !s->reactor_) return;
      s->progress_tick();
      s->arm_progress_timer();
    });
  }

  void progress_tick() {
    std::vector<int64_t> quiet;
    for (auto& [id, w] : watchers_) {
      if (w.progress_notify && !w.busy && !w.sent_since_tick) quiet.push_back(id);
      w.sent_since_tick = false;
    }
    if (quiet.empty()) return;
    boost::asio::post(ex_, [weak = weak_from_this(), quiet] {
      auto s = weak.lock();
      if (!s || !s->reactor_) return;
      s->with_revision([s, quiet](int64_t rev) {
        for (int64_t id : quiet) {
          auto it = s->watchers_.find(id);
          if (it == s->watchers_.end() || it->second.busy) continue;
          s->out_.send(s->response(rev, id));
        }
      });
    });
  }

  ServiceContext& ctx_;
  boost::asio::any_io_executor ex_;
  Reactor* reactor_;
  StreamOutbox<Reactor, pb::WatchResponse> out_;
  pb::WatchRequest req_;
  std::map<int64_t, Watcher> watchers_;
  int64_t next_id_ = 0;
  bool reading_ = false;
  bool progress_requested_ = false;
  std::unique_ptr<runtime::Timer> timer_;
};

}  // namespace

grpc::ServerBidiReactor<pb::WatchRequest, pb::WatchResponse>* WatchService::Watch(grpc::CallbackServerContext*) {
  auto ex = ctx_.engine.context(ctx_.engine.kv_shard()).get_executor();
  auto* r = new WatchSession::Reactor(ex, &ctx_.live_sessions);
  auto s = std::make_shared<WatchSession>(ctx_, r);
  r->attach(s);
  boost::asio::post(ex, [s] { s->start(); });
  return r;
}

}  // namespace redcar::grpcfe::etcd
