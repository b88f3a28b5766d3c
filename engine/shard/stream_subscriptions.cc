#include "engine/shard/stream_subscriptions.h"

#include <algorithm>

#include "engine/shard/record_bodies.h"

namespace redcar::shard {

void StreamSubscriber::detach() { owner_->unsubscribe(this); }

void StreamSubscriptions::subscribe(std::shared_ptr<StreamSubscriber> sub) {
  const StreamState* s = table_.peek(sub->stream_);
  switch (sub->opt_.from) {
    case SubscribeOptions::From::kStart: sub->cursor_ = s ? s->first : 0; break;
    case SubscribeOptions::From::kEnd: sub->cursor_ = s ? s->next : 0; break;
    case SubscribeOptions::From::kNumber: sub->cursor_ = sub->opt_.number; break;
  }
  auto it = followers_.find(sub->stream_);
  if (it == followers_.end()) it = followers_.emplace(sub->stream_, Followers{}).first;
  it->second.subs.push_back(sub);
  pump(sub);
}

void StreamSubscriptions::unsubscribe(StreamSubscriber* sub) {
  auto it = followers_.find(sub->stream_);
  if (it == followers_.end()) return;
  auto& v = it->second.subs;
  v.erase(std::remove_if(v.begin(), v.end(), [sub](auto& p) { return p.get() == sub; }), v.end());
  if (v.empty() && !it->second.touched) followers_.erase(it);
}

void StreamSubscriptions::end(const std::shared_ptr<StreamSubscriber>& sub, const Status& why) {
  unsubscribe(sub.get());
  sub->finish(why);
}

void StreamSubscriptions::on_event(const log::RecordView& rec) {
  if (followers_.empty()) return;
  auto it = followers_.find(rec.name);
  if (it == followers_.end() || it->second.subs.empty()) return;
  Followers& f = it->second;
  if (!f.touched) {
    f.fresh.clear();
    f.touched = true;
    touched_.push_back(it->first);
  }
  f.fresh.push_back(std::make_shared<Event>(make_event(rec)));
}

void StreamSubscriptions::on_stream_deleted(std::string_view stream, const Status& why) {
  auto it = followers_.find(stream);
  if (it == followers_.end()) return;
  auto subs = std::move(it->second.subs);
  it->second.subs.clear();
  it->second.fresh.clear();
  for (auto& sub : subs) sub->finish(why);
}

void StreamSubscriptions::after_batch() {
  auto touched = std::move(touched_);
  touched_.clear();
  for (const std::string& name : touched) {
    auto it = followers_.find(name);
    if (it == followers_.end()) continue;
    it->second.touched = false;
    auto subs = it->second.subs;  // pump may unsubscribe
    if (subs.empty()) followers_.erase(it);
    for (auto& sub : subs) pump(sub);
  }
}

void StreamSubscriptions::close_all(const Status& why) {
  auto all = std::move(followers_);
  followers_.clear();
  touched_.clear();
  for (auto& [name, f] : all) {
    for (auto& sub : f.subs) sub->finish(why);
  }
}

void StreamSubscriptions::pump(const std::shared_ptr<StreamSubscriber>& sub) {
  if (sub->done_ || sub->in_flight_ || sub->reading_) return;
  const StreamState* s = table_.peek(sub->stream_);
  if (!s) return;  // not there yet: the first event wakes it
  if (sub->cursor_ < s->first) sub->cursor_ = s->first;  // trimmed away meanwhile
  if (sub->opt_.to && sub->cursor_ > *sub->opt_.to) return end(sub, Status::ok());
  if (sub->cursor_ >= s->next) return;  // live: woken by after_batch()
  auto f = followers_.find(sub->stream_);
  if (f != followers_.end() && deliver_fresh(sub, *s, f->second)) return;
  catch_up(sub);
}

bool StreamSubscriptions::deliver_fresh(const std::shared_ptr<StreamSubscriber>& sub, const StreamState& s,
                                        Followers& f) {
  // Only a subscriber exactly within the fresh events, and only when they
  // are the stream's newest: otherwise it reads from the log.
  if (f.fresh.empty() || f.fresh.front()->number > sub->cursor_ || f.fresh.back()->number < sub->cursor_) return false;
  if (f.fresh.back()->number + 1 != s.next) return false;
  std::vector<EventPtr> evs;
  for (auto& e : f.fresh) {
    if (e->number >= sub->cursor_ && !s.deleted.count(e->number)) evs.push_back(e);
  }
  sub->cursor_ = f.fresh.back()->number + 1;
  if (!evs.empty()) deliver(sub, std::move(evs));
  return true;
}

void StreamSubscriptions::catch_up(const std::shared_ptr<StreamSubscriber>& sub) {
  sub->reading_ = true;
  uint64_t from = sub->cursor_;
  uint64_t to = sub->opt_.to.value_or(UINT64_MAX);
  reader_.read_numbers(sub->stream_, from, to, limits::kSubscriberBatchEvents,
                       [this, sub, from](Result<std::vector<Event>> evs) {
                         sub->reading_ = false;
                         if (sub->done_) return;
                         if (!evs) return end(sub, evs.status());
                         if (evs->empty()) {
                           // Nothing live in range (deleted or trimmed): skip ahead.
                           const StreamState* s = table_.peek(sub->stream_);
                           if (s && s->next > from) sub->cursor_ = s->next;
                           return pump(sub);
                         }
                         std::vector<EventPtr> out;
                         out.reserve(evs->size());
                         for (auto& e : *evs) out.push_back(std::make_shared<Event>(std::move(e)));
                         deliver(sub, std::move(out));
                       });
}

void StreamSubscriptions::deliver(const std::shared_ptr<StreamSubscriber>& sub, std::vector<EventPtr> evs) {
  if (sub->done_) return;
  if (sub->opt_.to) {
    while (!evs.empty() && evs.back()->number > *sub->opt_.to) evs.pop_back();
  }
  // Everything in range was deleted: move on.
  if (evs.empty()) return pump(sub);
  sub->cursor_ = evs.back()->number + 1;
  sub->in_flight_ = true;
  auto more = [sub, this] {
    sub->reactor_.post([sub, this] { resume(sub); });
  };
  sub->handler_(std::move(evs), more);
}

void StreamSubscriptions::resume(const std::shared_ptr<StreamSubscriber>& sub) {
  if (gate_ && !gate_->admits()) return gate_->defer([sub, this] { resume(sub); });
  sub->in_flight_ = false;
  pump(sub);
}

}  // namespace redcar::shard
