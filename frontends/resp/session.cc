#include "frontends/resp/session.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>

#include "engine/common/assert.h"
#include "frontends/resp/command_table.h"
#include "frontends/resp/server.h"

namespace redcar::resp {

namespace {

// The far end of the socket, or with `local` its own end.
std::string address_of(int fd, bool local = false) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  int rc = local ? ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                 : ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (rc != 0) return {};
  char host[INET6_ADDRSTRLEN] = {};
  uint16_t port = 0;
  if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    port = ntohs(a->sin6_port);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    port = ntohs(a->sin_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

}  // namespace

Session::Session(Server& server, runtime::Reactor& reactor, runtime::BufferRing& buffers, int fd, uint64_t id,
                 SSL_CTX* tls)
    : server_(server),
      reactor_(reactor),
      conn_(std::make_shared<runtime::TcpConnection>(reactor, buffers, fd)),
      parser_(server.options().parse) {
  this->id = id;
  fd_ = fd;
  peer = address_of(fd);
  local = address_of(fd, true);
  if (tls) tls_ = std::make_unique<TlsChannel>(tls);
  created_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count();
  authenticated = server.state().acl.default_is_open();
}

void Session::start() {
  self_ = std::static_pointer_cast<Session>(shared_from_this());
  conn_->start(this);
}

void Session::close() {
  if (closed_) return;
  conn_->close();  // on_closed() follows once the socket is idle
}

void Session::on_closed(int) {
  if (closed_) return;
  closed_ = true;
  pause_timer_.cancel();
  auto hooks = std::move(on_close);
  on_close.clear();
  for (auto& h : hooks) h();
  deferred_.clear();  // their replies hold this session
  writable_waiters_.clear();
  server_.session_closed(this);
  self_.reset();  // may be the last reference
}

void Session::on_data(std::span<const uint8_t> bytes) {
  if (closed_) return;
  if (tls_) {
    std::string& cipher = conn_->out();
    size_t before = cipher.size();
    bool ok = tls_->receive(bytes, &in_, &cipher);
    if (cipher.size() != before) conn_->flush();
    if (!ok) return close();
  } else {
    in_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  server_.state().command_stats.bytes_in(bytes.size());
  process();
}

void Session::update_reading() {
  if (closed_) return;
  const auto& lim = server_.options().session;
  bool read = !quit_after_flush_ && slots_.size() < lim.max_pending_replies && output_bytes() < lim.pause_output_bytes;
  if (read) conn_->resume_reading();
  else conn_->pause_reading();
}

void Session::process() {
  if (processing_) return;
  processing_ = true;
  size_t pos = 0;
  const auto& lim = server_.options().session;
  while (!closed_ && !quit_after_flush_ && pos < in_.size()) {
    if (slots_.size() >= lim.max_pending_replies) {
      stalled_ = true;  // resumed by complete() once replies drain
      break;
    }
    std::string_view rest(in_.data() + pos, in_.size() - pos);
    if (need_bytes_ > rest.size()) break;
    ParseResult r = parser_.parse(rest, args_);
    if (r.status == ParseStatus::kNeedMore) {
      need_bytes_ = r.need_bytes;
      break;
    }
    need_bytes_ = 0;
    if (r.status == ParseStatus::kError) {
      // A protocol violation ends this connection only, after the replies
      // to what came before it.
      in_.clear();
      pos = 0;
      std::string bytes;
      ReplyWriter w(bytes, protocol);
      w.error(r.error);
      add_slot({true, std::move(bytes)});
      next_slot_++;
      quit_after_flush_ = true;
      drain_slots();
      break;
    }
    pos += r.consumed;
    if (args_.empty()) continue;
    ReplyPtr reply = make_reply(next_slot_++);
    add_slot({});
    if (iequals(args_[0], "quit")) {
      reply->w().simple("OK");
      quit_after_flush_ = true;
      reply->done();
      break;
    }
    submit(reply, Args(args_.data(), args_.size()));
  }
  // The parser keeps its place in an unfinished command as offsets from the
  // start of what it was given, which is where that command now begins.
  if (pos > 0) in_.erase(0, pos);
  processing_ = false;
  update_reading();
}

namespace {
// XREAD and XREADGROUP block only when asked to: BLOCK among the options,
// which all come before STREAMS.
bool asks_to_block(Args args) {
  // XREADGROUP's group and consumer may be named "block".
  size_t first = args.size() > 1 && iequals(args[1], "group") ? 4 : 1;
  for (size_t i = first; i < args.size() && !iequals(args[i], "streams"); ++i) {
    if (iequals(args[i], "block")) return true;
  }
  return false;
}
}  // namespace

Hold Session::hold_of(const Command* cmd, Args args) {
  if (!cmd) return Hold::kNone;
  if (cmd->flags & kRunsAlone) return Hold::kAlone;
  if ((cmd->flags & kAlwaysBlocks) || ((cmd->flags & kBlocking) && asks_to_block(args))) return Hold::kBlocking;
  if (cmd->flags & kGroupStaged) return Hold::kGroupOp;
  if (cmd->flags & kWrite) return Hold::kWrite;
  return Hold::kNone;
}

// Commands run in the order they arrive, as one client of Redis expects:
// a command that reads what an earlier one of this connection wrote waits
// until that write is durable (and so visible). Writes evaluated against
// the engine's staged view (appends, SET, ...) need not wait, so pipelined
// writes still share a flush; nor do group operations behind group
// operations, so that a pipeline of XREADGROUPs does not wait out a flush
// per request. Behind a command that blocks, everything waits, as in Redis.
bool Session::may_run(const Command* cmd) const {
  if (held_[static_cast<size_t>(Hold::kBlocking)] > 0 || held_[static_cast<size_t>(Hold::kAlone)] > 0) return false;
  uint32_t flags = cmd ? cmd->flags : 0;
  if (flags & kStaged) return true;
  if (held_[static_cast<size_t>(Hold::kWrite)] > 0) return false;
  return (flags & kGroupStaged) || held_[static_cast<size_t>(Hold::kGroupOp)] == 0;
}

bool Session::paused(const Command* cmd) {
  bool write = cmd && ((cmd->flags & (kWrite | kPausedAsWrite)) ||
                       ((cmd->flags & kPausedWhenQueueWrites) && queued_writes));
  int64_t until = server_.state().clients.paused_until(write);
  if (until == 0) return false;
  if (!pause_timer_.pending()) {
    int64_t left = std::max<int64_t>(1, until - ClientRegistry::now_ms());
    pause_timer_.start(std::chrono::milliseconds(left), [this] { run_deferred(); });
  }
  return true;
}

void Session::kill_after_reply() {
  // As QUIT: nothing more is read, and the socket closes once every reply
  // queued so far has been sent.
  quit_after_flush_ = true;
  drain_slots();
}

void Session::pause_ended() {
  pause_timer_.cancel();
  run_deferred();
}

void Session::submit(const ReplyPtr& reply, Args args) {
  const Command* cmd = server_.commands().find(args[0]);
  if (!deferred_.empty() || !may_run(cmd) || paused(cmd)) {
    Deferred d;
    d.reply = reply;
    d.cmd = cmd;
    d.args.assign(args.begin(), args.end());
    deferred_.push_back(std::move(d));
    return;
  }
  run(reply, args, cmd);
}

void Session::run(const ReplyPtr& reply, Args args, const Command* cmd) {
  Hold hold = hold_of(cmd, args);
  if (hold != Hold::kNone) {
    held_[static_cast<size_t>(hold)]++;
    reply->hold = hold;
  }
  dispatch(server_.context(), reply, args, cmd);
}

void Session::released(Hold held) {
  size_t& n = held_[static_cast<size_t>(held)];
  REDCAR_CHECK(n > 0);
  --n;
  run_deferred();
}

void Session::run_deferred() {
  if (running_deferred_) return;
  running_deferred_ = true;
  while (!deferred_.empty() && !closed_ && may_run(deferred_.front().cmd) && !paused(deferred_.front().cmd)) {
    Deferred taken = std::move(deferred_.front());
    deferred_.pop_front();
    deferred_views_.assign(taken.args.begin(), taken.args.end());
    run(taken.reply, Args(deferred_views_.data(), deferred_views_.size()), taken.cmd);
  }
  running_deferred_ = false;
}

void Session::add_slot(Slot s) {
  if (slots_.full()) slots_.set_capacity(slots_.capacity() * 2);
  slots_.push_back(std::move(s));
}

void Session::complete(uint64_t slot, std::string_view bytes, Hold held) {
  fill_slot(slot, bytes);
  if (held != Hold::kNone) released(held);
}

void Session::fill_slot(uint64_t slot, std::string_view bytes) {
  if (closed_) return;
  server_.state().command_stats.bytes_out(bytes.size());
  size_t i = slot - first_slot_;
  if (i >= slots_.size()) return;
  if (i == 0) {
    // The oldest reply: it goes out now, with no copy kept in the slot.
    wire() += bytes;
    slots_.pop_front();
    first_slot_++;
    drain_slots(true);
  } else {
    slots_[i].ready = true;
    slots_[i].bytes.assign(bytes);
    drain_slots();
  }
  if (stalled_ && slots_.size() < server_.options().session.max_pending_replies) {
    stalled_ = false;
    reactor_.post([this, self = shared_from_this()] { process(); });
  }
}

void Session::drain_slots(bool moved) {
  while (!slots_.empty() && slots_.front().ready) {
    wire() += slots_.front().bytes;
    slots_.pop_front();
    first_slot_++;
    moved = true;
  }
  if (moved || (quit_after_flush_ && slots_.empty())) flush();
}

void Session::push(std::string_view bytes) {
  if (closed_) return;
  server_.state().command_stats.bytes_out(bytes.size());
  if (slots_.empty()) {
    wire() += bytes;
    flush();
    return;
  }
  // Behind the replies already queued, ahead of none.
  add_slot({true, std::string(bytes)});
  next_slot_++;
}

void Session::when_writable(std::function<void()> fn) {
  if (closed_) return;
  if (output_bytes() < server_.options().session.pause_output_bytes) return fn();
  writable_waiters_.push_back(std::move(fn));
}

void Session::flush() {
  if (closed_) return;
  if (tls_ && !plain_out_.empty()) {
    if (!tls_->send(plain_out_, &conn_->out())) return close();
    plain_out_.clear();
  }
  if (output_bytes() > server_.options().session.max_output_bytes) {
    // The client is not reading: drop it rather than buffer without bound.
    return close();
  }
  if (quit_after_flush_ && slots_.empty()) {
    conn_->close_after_flush();
    return;
  }
  conn_->flush();
}

void Session::on_drained() {
  if (closed_) return;
  if (!writable_waiters_.empty()) {
    auto ws = std::move(writable_waiters_);
    writable_waiters_.clear();
    for (auto& w : ws) w();
  }
  process();  // output drained: buffered requests may flow again
}

}  // namespace redcar::resp
