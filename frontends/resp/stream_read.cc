#include "frontends/resp/stream_read.h"

namespace redcar::resp {

bool parse_stream_read(Reply& r, Args a, size_t first, StreamReadKind kind, StreamReadArgs* out) {
  const bool group = kind == StreamReadKind::kXReadGroup;
  auto fail = [&r](std::string_view message) {
    reply_error(r, message);
    return false;
  };
  size_t i = first;
  for (; i < a.size(); ++i) {
    std::string o = lower(a[i]);
    if (o == "count" && i + 1 < a.size()) {
      int64_t c;
      if (!parse_int(a[++i], &c)) return fail("ERR value is not an integer or out of range");
      out->count = c <= 0 ? UINT64_MAX : static_cast<uint64_t>(c);
    } else if (o == "block" && i + 1 < a.size()) {
      int64_t ms;
      if (!parse_int(a[++i], &ms)) return fail("ERR timeout is not an integer or out of range");
      if (ms < 0) return fail("ERR timeout is negative");
      // Inside EXEC nothing blocks: the read answers at once, as Redis's does.
      if (!r.client().in_exec) out->block_ms = ms;
    } else if (group && o == "noack") {
      out->noack = true;
    } else if (o == "streams") {
      ++i;
      break;
    } else {
      return fail("ERR syntax error");
    }
  }
  size_t rest = a.size() - i;
  if (rest == 0 || rest % 2 != 0) {
    return fail(group ? "ERR Unbalanced 'xreadgroup' list of streams: for each stream key an ID or '>' must be "
                        "specified."
                      : "ERR Unbalanced 'xread' list of streams: for each stream key an ID or '$' must be specified.");
  }
  const std::string_view special = group ? ">" : "$";
  size_t n = rest / 2;
  // Assigned in place: arguments parsed into the same StreamReadArgs again
  // reuse its strings.
  out->keys.resize(n);
  out->ids.resize(n);
  for (size_t k = 0; k < n; ++k) {
    std::string_view id = a[i + n + k];
    StreamId parsed;
    if (id != special && !StreamId::parse(id, 0, &parsed)) {
      return fail("ERR Invalid stream ID specified as stream command argument");
    }
    out->keys[k].assign(a[i + k]);
    out->ids[k].assign(id);
  }
  return true;
}

bool BlockedRead::settle() {
  if (answered_) return false;
  answered_ = true;
  for (auto& s : subs_) s->cancel();
  subs_.clear();
  if (timer_) timer_->cancel();
  return true;
}

void BlockedRead::time_out_after(int64_t ms, std::function<void()> on_timeout) {
  if (ms <= 0) return;
  timer_ = std::make_unique<runtime::Timer>(reply_->client().loop());
  timer_->start(std::chrono::milliseconds(ms), [self = shared_from_this(), on_timeout = std::move(on_timeout)] {
    if (!self->answered_) on_timeout();
  });
}

void BlockedRead::end_when_client_leaves() {
  std::weak_ptr<BlockedRead> weak = weak_from_this();
  reply_->client().on_close.push_back([weak] {
    if (auto self = weak.lock()) self->settle();
  });
}

void write_streams(ReplyWriter& w, size_t n, const std::function<void(size_t)>& each) {
  if (w.protocol() == 3) w.map(n);
  else w.array(n);
  for (size_t i = 0; i < n; ++i) {
    if (w.protocol() != 3) w.array(2);
    each(i);
  }
}

}  // namespace redcar::resp
