#include "frontends/resp/reply.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <utility>

#include "frontends/resp/command_table.h"
#include "frontends/resp/context.h"

namespace redcar::resp {

Client::~Client() {
  for (Reply* r : free_replies_) delete r;
}

ReplyPtr Client::make_reply(uint64_t slot) {
  Reply* r;
  if (!free_replies_.empty()) {
    r = free_replies_.back();
    free_replies_.pop_back();
    free_bytes_ -= r->counted_bytes_;
    cold_ = std::min(cold_, free_replies_.size());
  } else {
    r = new Reply();
  }
  r->client_ = shared_from_this();
  r->slot_ = slot;
  r->writer_.set_protocol(protocol);
  return ReplyPtr(r);
}

void Client::recycle(Reply* r) {
  // May hold the last reference to this client: it goes at the end, when
  // nothing here touches the client any more (~Client deletes the list).
  ClientPtr keep = std::move(r->client_);
  if (free_replies_.size() >= kMaxFreeReplies) {
    delete r;
    return;
  }
  size_t kept = r->kept_bytes();
  while (kept <= kMaxKeptBufferBytes && free_bytes_ + kept > kMaxKeptBytesPerClient &&
         cold_ < free_replies_.size()) {
    Reply* old = free_replies_[cold_++];
    free_bytes_ -= old->counted_bytes_;
    forget_memory(old);
    free_bytes_ += old->counted_bytes_;
  }
  if (kept > kMaxKeptBufferBytes || free_bytes_ + kept > kMaxKeptBytesPerClient) {
    // The object is kept, its memory is not.
    forget_memory(r);
    kept = r->counted_bytes_;
  }
  r->buf_.clear();
  r->hold = Hold::kNone;
  r->ctx_ = nullptr;
  r->command_ = Reply::kNoCommand;
  r->rejected_ = false;
  r->silent_ = false;
  r->counted_bytes_ = kept;
  free_bytes_ += kept;
  free_replies_.push_back(r);
}

void Client::forget_memory(Reply* r) {
  std::string().swap(r->buf_);
  std::vector<EventData>().swap(r->lent_events_);
  r->lent_txn_ = TxnRequest();
  // Swapped, not assigned: a string assigned a short one keeps its buffer.
  GroupReadLent fresh;
  std::swap(r->lent_group_read_, fresh);
  std::vector<std::string>().swap(r->slow_args_);
  std::string().swap(r->kept_key_);
  r->counted_bytes_ = r->kept_bytes();
}

size_t Reply::kept_bytes() const {
  size_t n = buf_.capacity();
  for (const EventData& e : lent_events_) {
    n += sizeof(EventData) + e.data.capacity() + e.type.capacity();
    for (const Field& f : e.fields) n += sizeof(Field) + f.name.capacity() + f.value.capacity();
  }
  for (const auto* ops : {&lent_txn_.success, &lent_txn_.failure}) {
    for (const KvOp& op : *ops) n += sizeof(KvOp) + op.range.key.capacity() + op.value.capacity();
  }
  const GroupReadLent& g = lent_group_read_;
  n += g.stream.capacity() + g.opt.group.capacity() + g.opt.consumer.capacity() +
       g.delivered.capacity() * sizeof(EventRef);
  for (const std::string& a : slow_args_) n += sizeof(std::string) + a.capacity();
  n += kept_key_.capacity();
  return n;
}

namespace {
int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

void Reply::start(Context& ctx, uint32_t command, std::span<const std::string_view> args) {
  ctx_ = &ctx;
  command_ = command;
  started_ns_ = steady_ns();
  Client& c = *client_;
  c.last_active_ms = started_ns_ / 1000000;
  if (command != kNoCommand) c.last_command = ctx.commands.slot_name(command);
  if (c.reply_mode != Client::ReplyMode::kOn && slot_ < Client::kExecSlots) {
    silent_ = true;
    if (c.reply_mode == Client::ReplyMode::kSkipNext) c.reply_mode = Client::ReplyMode::kOn;
  }
  slow_argc_ = 0;
  if (ctx.state.slowlog.slower_than_usec.load(std::memory_order_relaxed) < 0) return;
  slow_argc_ = args.size();
  size_t shown = std::min(args.size(), kSlowlogMaxArgs);
  if (slow_args_.size() < shown) slow_args_.resize(shown);
  // Passwords never reach the log: AUTH's arguments, and what follows
  // HELLO's AUTH, as Redis redacts them.
  bool auth = !args.empty() && iequals(args[0], "auth");
  size_t hello_auth = SIZE_MAX;  // where HELLO's AUTH option is
  if (!args.empty() && iequals(args[0], "hello")) {
    for (size_t i = 1; i < args.size() && hello_auth == SIZE_MAX; ++i) {
      if (iequals(args[i], "auth")) hello_auth = i;
    }
  }
  for (size_t i = 0; i < shown; ++i) {
    std::string_view a = args[i];
    std::string& out = slow_args_[i];
    bool secret = (auth && i > 0) || (hello_auth != SIZE_MAX && (i == hello_auth + 1 || i == hello_auth + 2));
    if (secret) {
      out.assign("(redacted)");
      continue;
    }
    out.assign(a.substr(0, kSlowlogMaxArgBytes));
    if (a.size() > kSlowlogMaxArgBytes) {
      // Appended in place: a request with a long value must not allocate.
      char digits[24];
      auto end = std::to_chars(digits, digits + sizeof(digits), a.size() - kSlowlogMaxArgBytes).ptr;
      out.append("... (").append(digits, static_cast<size_t>(end - digits)).append(" more bytes)");
    }
  }
}

void Reply::account(Hold held) {
  Context& ctx = *std::exchange(ctx_, nullptr);
  CommandStats& stats = ctx.state.command_stats;
  bool failed = !buf_.empty() && (buf_[0] == '-' || buf_[0] == '!');
  if (failed) {
    // "-TEXT\r\n", or RESP3's "!LEN\r\nTEXT\r\n".
    std::string_view text(buf_);
    if (text[0] == '!') text.remove_prefix(std::min(text.size(), text.find('\n') + 1));
    else text.remove_prefix(1);
    stats.error(text);
  }
  if (command_ == kNoCommand) return;
  if (rejected_) return stats.rejected(command_);
  uint64_t usec = static_cast<uint64_t>(std::max<int64_t>(0, steady_ns() - started_ns_)) / 1000;
  stats.ran(command_, usec, failed);
  // A blocking read's wait is the client's choice, not slowness.
  if (held == Hold::kBlocking) return;
  if (ctx.state.latency.monitors(usec / 1000)) ctx.state.latency.add("command", usec / 1000);
  if (slow_argc_ == 0 || !ctx.state.slowlog.logs(usec)) return;
  Slowlog::Entry e;
  e.unix_seconds = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  e.usec = usec;
  size_t shown = slow_argc_ > kSlowlogMaxArgs ? kSlowlogMaxArgs - 1 : slow_argc_;
  e.args.assign(slow_args_.begin(), slow_args_.begin() + static_cast<std::ptrdiff_t>(shown));
  if (shown < slow_argc_) e.args.push_back("... (" + std::to_string(slow_argc_ - shown) + " more arguments)");
  e.peer = client_->peer;
  e.name = client_->name;
  ctx.state.slowlog.add(std::move(e));
}

void Reply::done() {
  Hold held = std::exchange(hold, Hold::kNone);
  if (ctx_) account(held);
  if (slot_ >= Client::kExecSlots) {
    // One of EXEC's commands: its answer joins EXEC's.
    if (client_->exec_sink) client_->exec_sink(slot_ - Client::kExecSlots, buf_);
  } else {
    client_->complete(slot_, silent_ ? std::string_view() : std::string_view(buf_), held);
  }
  buf_.clear();
}

void reply_add_ref(Reply* r) noexcept { r->refs_.fetch_add(1, std::memory_order_relaxed); }

void reply_release(Reply* r) noexcept {
  if (r->refs_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  Client* c = r->client_.get();
  if (c && c->loop().in_loop_thread()) {
    c->recycle(r);
  } else {
    delete r;
  }
}

}  // namespace redcar::resp
