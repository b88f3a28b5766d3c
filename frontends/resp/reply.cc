#include "frontends/resp/reply.h"

#include <algorithm>
#include <utility>

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
  return n;
}

void Reply::done() {
  Hold held = std::exchange(hold, Hold::kNone);
  client_->complete(slot_, buf_, held);
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
