#include "engine/shard/tail_subscriptions.h"

#include <algorithm>

#include "engine/shard/record_bodies.h"

namespace redcar::shard {

void TailSubscriptions::add(std::shared_ptr<TailSubscriber> sub) {
  sub->cursor_ = sub->from_start_ ? log_.first_offset() + log::kSegmentHeaderBytes : log_.written_end();
  subs_.push_back(sub);
  pump(sub);
}

void TailSubscriptions::remove(TailSubscriber* sub) {
  subs_.erase(std::remove_if(subs_.begin(), subs_.end(), [sub](auto& p) { return p.get() == sub; }), subs_.end());
}

void TailSubscriptions::after_batch() {
  auto subs = subs_;
  for (auto& s : subs) pump(s);
}

void TailSubscriptions::close_all(const Status& why) {
  auto subs = std::move(subs_);
  subs_.clear();
  for (auto& s : subs) s->finish(why);
}

void TailSubscriptions::pump(const std::shared_ptr<TailSubscriber>& sub) {
  if (sub->done_ || sub->in_flight_ || sub->reading_) return;
  if (sub->cursor_ < log_.first_offset()) sub->cursor_ = log_.first_offset() + log::kSegmentHeaderBytes;
  if (sub->cursor_ >= log_.written_end()) return;  // live: woken by after_batch()
  sub->reading_ = true;
  auto out = std::make_shared<std::vector<EventPtr>>();
  auto next = std::make_shared<uint64_t>(sub->cursor_);
  auto visit = [this, sub, out, next](const log::RecordView& rec, uint64_t offset) {
    if (out->size() >= limits::kSubscriberBatchEvents) return false;
    *next = offset + rec.padded_length;
    if (rec.header.type != log::RecordType::kEvent) return true;
    if (rec.name.substr(0, sub->prefix_.size()) != sub->prefix_) return true;
    const StreamState* s = table_.peek(rec.name);
    uint64_t n = rec.header.number;
    if (!s || !s->visible() || offset < s->incarnation_offset || n < s->first || s->deleted.count(n)) return true;
    Event e;
    e.stream.assign(rec.name);
    e.number = n;
    e.id = {rec.header.id_ms, rec.header.id_seq};
    e.timestamp_us = rec.header.timestamp_us;
    if (!decode_event_body(rec.body, &e.payload)) return true;
    out->push_back(std::make_shared<Event>(std::move(e)));
    return true;
  };
  log_.scan(sub->cursor_, visit, [this, sub, out, next](Status st) {
    sub->reading_ = false;
    if (sub->done_) return;
    if (!st) {
      remove(sub.get());
      return sub->finish(st);
    }
    // A scan that ran to the end of the data has seen everything written.
    if (out->size() < limits::kSubscriberBatchEvents) *next = std::max(*next, log_.written_end());
    sub->cursor_ = *next;
    if (out->empty()) return pump(sub);
    sub->in_flight_ = true;
    auto more = [sub, this] {
      sub->reactor_.post([sub, this] { resume(sub); });
    };
    sub->handler_(std::move(*out), more);
  });
}

void TailSubscriptions::resume(const std::shared_ptr<TailSubscriber>& sub) {
  if (gate_ && !gate_->admits()) return gate_->defer([sub, this] { resume(sub); });
  sub->in_flight_ = false;
  pump(sub);
}

}  // namespace redcar::shard
