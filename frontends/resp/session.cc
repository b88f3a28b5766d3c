#include "frontends/resp/session.h"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <chrono>

#include "engine/common/assert.h"
#include "frontends/resp/command_table.h"
#include "frontends/resp/server.h"

namespace redcar::resp {

namespace {
std::variant<boost::asio::ip::tcp::socket, Session::TlsStream> make_stream(boost::asio::ip::tcp::socket socket,
                                                                        boost::asio::ssl::context* tls) {
  if (tls) return Session::TlsStream(std::move(socket), *tls);
  return socket;
}
}  // namespace

Session::Session(Server& server, boost::asio::ip::tcp::socket socket, uint64_t id, boost::asio::ssl::context* tls)
    : server_(server), stream_(make_stream(std::move(socket), tls)), parser_(server.options().parse) {
  this->id = id;
  executor_ = lowest().get_executor();
  boost::system::error_code ec;
  auto ep = lowest().remote_endpoint(ec);
  if (!ec) peer = ep.address().to_string() + ":" + std::to_string(ep.port());
  lowest().set_option(boost::asio::ip::tcp::no_delay(true), ec);
  created_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count();
  authenticated = server.options().requirepass.empty();
}

boost::asio::ip::tcp::socket& Session::lowest() {
  if (auto* tls = std::get_if<TlsStream>(&stream_)) return tls->next_layer();
  return std::get<boost::asio::ip::tcp::socket>(stream_);
}

void Session::start() {
  auto* tls = std::get_if<TlsStream>(&stream_);
  if (!tls) return read();
  auto self = shared_from_this();
  tls->async_handshake(boost::asio::ssl::stream_base::server, [this, self](boost::system::error_code ec) {
    // A client without a valid certificate (when one is required) ends here.
    if (ec) return close();
    read();
  });
}

void Session::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ec;
  lowest().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  lowest().close(ec);
  auto hooks = std::move(on_close);
  for (auto& h : hooks) h();
  deferred_.clear();  // their replies hold this session
  server_.session_closed(this);
}

void Session::read() {
  if (reading_ || closed_ || quit_after_flush_) return;
  const auto& lim = server_.options().session;
  if (slots_.size() >= lim.max_pending_replies || output_bytes() >= lim.pause_output_bytes) return;
  reading_ = true;
  if (!rbuf_) rbuf_ = std::make_unique<char[]>(kReadBytes);
  auto self = shared_from_this();
  auto on_read = [this, self](boost::system::error_code ec, size_t n) {
    reading_ = false;
    if (ec || closed_) return close();
    in_.append(rbuf_.get(), n);
    process();
  };
  std::visit([&](auto& s) { s.async_read_some(boost::asio::buffer(rbuf_.get(), kReadBytes), on_read); }, stream_);
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
      slots_.push_back({true, std::move(bytes)});
      next_slot_++;
      quit_after_flush_ = true;
      drain_slots();
      break;
    }
    pos += r.consumed;
    if (args_.empty()) continue;
    server_.stats().commands_processed++;
    auto reply = std::make_shared<Reply>(shared_from_this(), next_slot_++, protocol);
    slots_.push_back({});
    if (args_.size() == 1 && iequals(args_[0], "quit")) {
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
  read();
}

// Commands run in the order they arrive, as one client of Redis expects:
// a command that reads what an earlier one of this connection wrote waits
// until that write is durable (and so visible). Writes evaluated against
// the engine's staged view (appends, SET, ...) need not wait, so pipelined
// writes still share a flush.
void Session::submit(const ReplyPtr& reply, Args args) {
  const Command* cmd = server_.commands().find(args[0]);
  uint32_t flags = cmd ? cmd->flags : 0;
  bool staged_ok = flags & kStaged;
  if (!deferred_.empty() || (writes_in_flight_ > 0 && !staged_ok)) {
    Deferred d;
    d.reply = reply;
    d.args.assign(args.begin(), args.end());
    deferred_.push_back(std::move(d));
    return;
  }
  run(reply, args, cmd);
}

void Session::run(const ReplyPtr& reply, Args args, const Command* cmd) {
  if (cmd && (cmd->flags & kWrite)) {
    writes_in_flight_++;
    reply->counts_as_write = true;
  }
  dispatch(server_.context(), reply, args, cmd);
}

void Session::write_done() {
  REDCAR_CHECK(writes_in_flight_ > 0);
  if (--writes_in_flight_ > 0 || running_deferred_) return;
  running_deferred_ = true;
  while (!deferred_.empty() && !closed_) {
    Deferred& d = deferred_.front();
    std::vector<std::string_view> views(d.args.begin(), d.args.end());
    const Command* cmd = server_.commands().find(views[0]);
    uint32_t flags = cmd ? cmd->flags : 0;
    if (writes_in_flight_ > 0 && !(flags & kStaged)) break;
    Deferred taken = std::move(d);
    deferred_.pop_front();
    run(taken.reply, Args(views.data(), views.size()), cmd);
  }
  running_deferred_ = false;
}

void Session::complete(uint64_t slot, std::string bytes, bool was_write) {
  fill_slot(slot, std::move(bytes));
  if (was_write) write_done();
}

void Session::fill_slot(uint64_t slot, std::string bytes) {
  if (closed_) return;
  size_t i = slot - first_slot_;
  if (i >= slots_.size()) return;
  slots_[i].ready = true;
  slots_[i].bytes = std::move(bytes);
  drain_slots();
  if (stalled_ && slots_.size() < server_.options().session.max_pending_replies) {
    stalled_ = false;
    boost::asio::post(executor_, [this, self = shared_from_this()] { process(); });
  }
}

void Session::drain_slots() {
  bool moved = false;
  while (!slots_.empty() && slots_.front().ready) {
    out_ += slots_.front().bytes;
    slots_.pop_front();
    first_slot_++;
    moved = true;
  }
  if (moved || (quit_after_flush_ && slots_.empty())) flush();
}

void Session::push(std::string bytes) {
  if (closed_) return;
  if (slots_.empty()) {
    out_ += bytes;
    flush();
    return;
  }
  // Behind the replies already queued, ahead of none.
  slots_.push_back({true, std::move(bytes)});
  next_slot_++;
}

void Session::when_writable(std::function<void()> fn) {
  if (closed_) return;
  if (output_bytes() < server_.options().session.pause_output_bytes) return fn();
  writable_waiters_.push_back(std::move(fn));
}

void Session::flush() {
  if (closed_) return;
  const auto& lim = server_.options().session;
  if (output_bytes() > lim.max_output_bytes) {
    // The client is not reading: drop it rather than buffer without bound.
    return close();
  }
  if (!writing_.empty() || out_.empty()) {
    if (writing_.empty() && out_.empty() && quit_after_flush_ && slots_.empty()) close();
    return;
  }
  writing_.swap(out_);
  writing_bytes_ = writing_.size();
  auto self = shared_from_this();
  auto on_written = [this, self](boost::system::error_code ec, size_t) {
    writing_.clear();
    writing_bytes_ = 0;
    if (ec) return close();
    if (!out_.empty()) return flush();
    if (quit_after_flush_ && slots_.empty()) return close();
    if (!writable_waiters_.empty()) {
      auto ws = std::move(writable_waiters_);
      writable_waiters_.clear();
      for (auto& w : ws) w();
    }
    process();  // output drained: buffered requests may flow again
  };
  std::visit([&](auto& s) { boost::asio::async_write(s, boost::asio::buffer(writing_), on_written); }, stream_);
}


}  // namespace redcar::resp
