// A pipelined RESP connection on boost.asio (resp_pipeline.h).
#include "resp_pipeline.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <utility>

namespace redcar::load {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
constexpr size_t kReadChunk = 64 * 1024;
}  // namespace

RespPipeline::RespPipeline(asio::io_context& io, size_t depth, Sink& sink, const std::atomic<bool>& stopping,
                           Handler& handler)
    : io_(io), sock_(io), sink_(sink), stopping_(stopping), handler_(handler), in_(kReadChunk), ring_(depth) {}

boost::system::error_code RespPipeline::connect(const tcp::resolver::results_type& endpoints) {
  boost::system::error_code ec;
  asio::connect(sock_, endpoints, ec);
  if (!ec) sock_.set_option(tcp::no_delay(true));
  return ec;
}

void RespPipeline::start() {
  asio::post(io_, [this] { start_read(); });
}

void RespPipeline::issue(int slot, int64_t start_ns) {
  asio::dispatch(io_, [this, slot, start_ns] { send(slot, start_ns); });
}

void RespPipeline::close() {
  asio::post(io_, [this] {
    boost::system::error_code ignored;
    sock_.close(ignored);
  });
}

void RespPipeline::send(int slot, int64_t start_ns) {
  if (dead_) {
    OpResult r{.ok = false, .fatal = true, .events = 0, .bytes = 0, .error = dead_reason_};
    sink_.done(slot, r);
    return;
  }
  handler_.encode(out_, start_ns);
  ring_[(head_ + count_) % ring_.size()] = slot;
  ++count_;
  if (!in_read_) flush();
}

void RespPipeline::flush() {
  if (write_busy_ || out_.empty() || dead_) return;
  std::swap(out_, writing_);
  write_busy_ = true;
  asio::async_write(sock_, asio::buffer(writing_), [this](boost::system::error_code ec, size_t) {
    write_busy_ = false;
    writing_.clear();
    if (ec) return fail("write: " + ec.message());
    flush();
  });
}

void RespPipeline::start_read() {
  if (dead_) return;
  if (in_.size() - in_len_ < kReadChunk / 4) in_.resize(in_.size() * 2);
  sock_.async_read_some(asio::buffer(in_.data() + in_len_, in_.size() - in_len_),
                        [this](boost::system::error_code ec, size_t n) { on_read(ec, n); });
}

void RespPipeline::on_read(boost::system::error_code ec, size_t n) {
  if (ec) {
    return fail(ec == asio::error::eof ? std::string("connection closed by the server") : "read: " + ec.message());
  }
  in_len_ += n;
  in_read_ = true;
  size_t pos = 0;
  while (pos < in_len_) {
    resp::Reply reply;
    size_t used = 0;
    const resp::Parse p = resp::parse_reply(std::string_view(in_.data() + pos, in_len_ - pos), &reply, &used);
    if (p == resp::Parse::kIncomplete) break;
    if (p == resp::Parse::kMalformed) {
      in_read_ = false;
      return fail("malformed reply");
    }
    if (count_ == 0) {
      in_read_ = false;
      return fail("a reply nothing asked for");
    }
    const int slot = pop_slot();
    sink_.done(slot, handler_.judge(reply));
    pos += used;
  }
  if (pos > 0) {
    std::memmove(in_.data(), in_.data() + pos, in_len_ - pos);
    in_len_ -= pos;
  }
  in_read_ = false;
  flush();
  start_read();
}

void RespPipeline::fail(std::string reason) {
  if (dead_) return;
  dead_ = true;
  dead_reason_ = std::move(reason);
  boost::system::error_code ignored;
  sock_.close(ignored);
  if (stopping_.load()) return;
  // Nothing outstanding to carry the reason: count it on its own.
  if (count_ == 0) sink_.error(dead_reason_);
  while (count_ > 0) {
    OpResult r{.ok = false, .fatal = true, .events = 0, .bytes = 0, .error = dead_reason_};
    sink_.done(pop_slot(), r);
  }
}

int RespPipeline::pop_slot() {
  const int slot = ring_[head_];
  head_ = (head_ + 1) % ring_.size();
  --count_;
  return slot;
}

}  // namespace redcar::load
