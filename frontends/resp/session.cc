#include "frontends/resp/session.h"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <chrono>

#include "frontends/resp/server.h"

namespace redcar::resp {

Reply::Reply(std::shared_ptr<Session> session, uint64_t slot, int protocol)
    : session_(std::move(session)), slot_(slot), writer_(buf_, protocol) {}

boost::asio::any_io_executor Reply::executor() const { return session_->executor_; }

void Reply::done() {
  auto s = session_;
  s->complete(slot_, std::move(buf_));
  buf_.clear();
}

namespace {
std::variant<boost::asio::ip::tcp::socket, Session::TlsStream> make_stream(boost::asio::ip::tcp::socket socket,
                                                                        boost::asio::ssl::context* tls) {
  if (tls) return Session::TlsStream(std::move(socket), *tls);
  return std::move(socket);
}
}  // namespace

Session::Session(Server& server, boost::asio::ip::tcp::socket socket, uint64_t id, boost::asio::ssl::context* tls)
    : server_(server), id_(id), parser_(server.options().parse), stream_(make_stream(std::move(socket), tls)) {
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
  server_.session_closed(this);
}

void Session::read() {
  if (reading_ || closed_ || quit_after_flush_) return;
  const auto& lim = server_.options().session;
  if (slots_.size() >= lim.max_pending_replies || output_bytes() >= lim.pause_output_bytes) return;
  reading_ = true;
  size_t old = in_.size();
  size_t want = std::max<size_t>(16 * 1024, need_bytes_ > old ? need_bytes_ - old : 0);
  want = std::min<size_t>(want, 1 << 20);
  in_.resize(old + want);
  auto self = shared_from_this();
  auto on_read = [this, self, old](boost::system::error_code ec, size_t n) {
    reading_ = false;
    in_.resize(old + n);
    if (ec || closed_) return close();
    process();
  };
  std::visit([&](auto& s) { s.async_read_some(boost::asio::buffer(in_.data() + old, want), on_read); }, stream_);
}

void Session::process() {
  size_t pos = 0;
  while (!closed_ && !quit_after_flush_ && pos < in_.size()) {
    const auto& lim = server_.options().session;
    if (slots_.size() >= lim.max_pending_replies) break;
    std::string_view rest(in_.data() + pos, in_.size() - pos);
    if (need_bytes_ > rest.size()) break;
    ParseResult r = parser_.parse(rest, args_);
    if (r.status == ParseStatus::kNeedMore) {
      need_bytes_ = r.need_bytes;
      break;
    }
    need_bytes_ = 0;
    if (r.status == ParseStatus::kError) {
      // A protocol violation ends this connection only.
      in_.clear();
      return write_error_and_close(r.error);
    }
    pos += r.consumed;
    if (args_.empty()) continue;
    server_.commands_processed++;
    auto reply = std::make_shared<Reply>(shared_from_this(), next_slot_++, protocol);
    slots_.push_back({});
    if (args_.size() == 1 && iequals(args_[0], "quit")) {
      reply->w().simple("OK");
      quit_after_flush_ = true;
      reply->done();
      break;
    }
    server_.dispatch(reply, Args(args_.data(), args_.size()));
  }
  // The parser keeps its place in an unfinished command as offsets from the
  // start of what it was given, which is where that command now begins.
  if (pos > 0) in_.erase(0, pos);
  read();
}

void Session::complete(uint64_t slot, std::string bytes) {
  if (closed_) return;
  size_t i = slot - first_slot_;
  if (i >= slots_.size()) return;
  slots_[i].ready = true;
  slots_[i].bytes = std::move(bytes);
  bool moved = false;
  while (!slots_.empty() && slots_.front().ready) {
    out_ += slots_.front().bytes;
    slots_.pop_front();
    first_slot_++;
    moved = true;
  }
  if (moved) flush();
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
    read();  // output drained: requests may flow again
  };
  std::visit([&](auto& s) { boost::asio::async_write(s, boost::asio::buffer(writing_), on_written); }, stream_);
}

void Session::write_error_and_close(const std::string& error) {
  std::string bytes;
  ReplyWriter w(bytes, protocol);
  w.error(error);
  out_ += bytes;
  quit_after_flush_ = true;
  if (slots_.empty()) flush();
}

}  // namespace redcar::resp
