#include "engine/shard/stream_trims.h"

#include <algorithm>
#include <iterator>

#include "engine/common/clock.h"
#include "engine/shard/record_bodies.h"

namespace redcar::shard {

namespace {

// Whole index blocks only, for '~'.
uint64_t round_down(const TrimSpec& spec, uint64_t t) {
  return spec.approximate ? t - t % limits::kIndexStride : t;
}
// LIMIT: at most that many events past the current first.
uint64_t cap(const TrimSpec& spec, uint64_t first, uint64_t t) {
  return spec.limit > 0 && t > first + spec.limit ? first + spec.limit : t;
}

}  // namespace

uint64_t StreamTrims::by_count(const StreamState& s, const TrimSpec& spec) const {
  // The count is of live events: deleted ones do not count.
  uint64_t live = s.staged_next - s.first - s.deleted.size();
  if (live <= spec.value) return s.first;
  uint64_t drop = live - spec.value;
  uint64_t t = s.first;
  auto it = s.deleted.begin();
  while (drop > 0) {
    if (it != s.deleted.end() && *it == t) {
      ++it;
    } else {
      --drop;
    }
    ++t;
  }
  return std::max(s.first, round_down(spec, cap(spec, s.first, t)));
}

uint64_t StreamTrims::by_age(const StreamState& s, const TrimSpec& spec) const {
  int64_t cutoff = now_us() - static_cast<int64_t>(spec.value) * 1000;
  // Block granularity from the index: whole blocks older than the cutoff.
  uint64_t t = s.first;
  for (size_t k = 0; k + 1 < s.index.size(); ++k) {
    if (s.index[k + 1].timestamp_us > cutoff) break;
    t = s.index_base + (k + 1) * limits::kIndexStride;
  }
  if (!s.index.empty() && s.last_timestamp_us <= cutoff) t = std::max(t, s.next);  // everything is older
  return std::max(s.first, cap(spec, s.first, t));
}

uint64_t StreamTrims::by_bytes(const StreamState& s, const TrimSpec& spec) const {
  uint64_t t = s.first;
  for (size_t k = 0; k < s.index.size(); ++k) {
    uint64_t block_first = s.index_base + k * limits::kIndexStride;
    if (block_first <= s.first) continue;
    if (s.total_bytes - s.index[k].bytes_before >= spec.value) t = block_first;
  }
  // t is the latest block start whose suffix still reaches the budget:
  // everything before it must go, and some of its block may stay over the
  // budget (the index knows sizes per block, not per event).
  if (s.live_bytes() <= spec.value) t = s.first;
  return std::max(s.first, cap(spec, s.first, t));
}

void StreamTrims::resolve(const std::string& stream, const TrimSpec& spec, Callback<uint64_t> cb) {
  StreamState* s = table_.find(stream);
  if (!s || !s->visible()) return cb(uint64_t{0});
  switch (spec.kind) {
    case TrimSpec::Kind::kNone: return cb(s->first);
    case TrimSpec::Kind::kMaxCount: return cb(by_count(*s, spec));
    case TrimSpec::Kind::kMaxAge: return cb(by_age(*s, spec));
    case TrimSpec::Kind::kMaxBytes: return cb(by_bytes(*s, spec));
    case TrimSpec::Kind::kMinNumber:
      return cb(std::max(s->first, round_down(spec, cap(spec, s->first, std::min(spec.value, s->staged_next)))));
    case TrimSpec::Kind::kMinId:
      return reader_.number_of_id(stream, spec.min_id, [this, stream, spec, cb = std::move(cb)](Result<uint64_t> n) {
        if (!n) return cb(n.status());
        StreamState* st = table_.find(stream);
        if (!st) return cb(uint64_t{0});
        cb(std::max(st->first, round_down(spec, cap(spec, st->first, *n))));
      });
  }
  cb(s->first);
}

Result<uint64_t> StreamTrims::stage(const std::string& stream, uint64_t new_first) {
  StreamState* s = table_.find(stream);
  if (!s || !s->visible() || new_first <= s->first) return uint64_t{0};
  // Count what disappears: live events in [first, new_first).
  uint64_t upto = std::min(new_first, s->staged_next);
  auto d_end = s->deleted.lower_bound(upto);
  uint64_t removed = upto - s->first - static_cast<uint64_t>(std::distance(s->deleted.begin(), d_end));
  auto st = stage_record(log_, log::RecordType::kStreamTrim, stream, upto, {}, {});
  if (!st) return st.status();
  return removed;
}

void StreamTrims::trim(const std::string& stream, const TrimSpec& spec, Callback<uint64_t> cb) {
  resolve(stream, spec, [this, stream, cb = std::move(cb)](Result<uint64_t> first) mutable {
    if (!first) return cb(first.status());
    auto removed = stage(stream, *first);
    if (!removed) return cb(removed.status());
    uint64_t n = *removed;
    if (n == 0) return cb(uint64_t{0});
    log_.when_durable([cb = std::move(cb), n](const Status& s) {
      if (!s) return cb(s);
      cb(n);
    });
  });
}

}  // namespace redcar::shard
