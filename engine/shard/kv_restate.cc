// KvStore's re-stating for retention: before segments holding key-value
// history are reclaimed, every version the view keeps is written again as
// kv-restore records (FORMAT.md), and read back from them at recovery. A
// version already known (by its mod revision) is skipped, so re-stated and
// original records may both be replayed.
#include <algorithm>

#include "engine/common/clock.h"
#include "engine/shard/kv_store.h"

namespace redcar::shard {

using log::BodyReader;
using log::BodyWriter;
using log::RecordType;

namespace {
// A restored version's flags (FORMAT.md, kv-restore).
constexpr uint8_t kRestoreTombstone = 1;
constexpr uint8_t kRestoreDeadline = 2;
constexpr uint8_t kRestoreTyped = 4;
}  // namespace

uint64_t KvStore::restate_bytes() const {
  uint64_t n = 64;
  for (const auto& [key, hist] : keys_) {
    for (const auto& v : hist) n += key.size() + v.value.size() + 35;
  }
  return n;
}

Status KvStore::stage_restore(std::string_view versions, uint64_t count) {
  std::string rec;
  BodyWriter w(&rec);
  w.varint(static_cast<uint64_t>(compact_revision_));
  w.varint(count);
  rec.append(versions);
  log::RecordHeader h;
  h.type = RecordType::kKvRestore;
  h.number = static_cast<uint64_t>(revision_);
  h.timestamp_us = now_us();
  return log_.stage(h, {}, rec).status();
}

Status KvStore::restate() {
  // Written state: staged writes are in the log ahead of these records and
  // will apply before them at recovery.
  if (keys_.empty()) {
    // Nothing kept, but the revision counter and compaction point must survive.
    return stage_restore({}, 0);
  }
  std::string body;
  uint64_t count = 0;
  for (const auto& [key, hist] : keys_) {
    for (const auto& v : hist) {
      BodyWriter w(&body);
      w.str(key);
      w.varint(static_cast<uint64_t>(v.create));
      w.varint(static_cast<uint64_t>(v.mod));
      w.varint(static_cast<uint64_t>(v.version));
      const bool typed = v.type != KvType::kString;
      w.byte(static_cast<uint8_t>((v.tombstone ? kRestoreTombstone : 0) | (v.expire_ms ? kRestoreDeadline : 0) |
                                  (typed ? kRestoreTyped : 0)));
      if (v.expire_ms) w.varint(static_cast<uint64_t>(v.expire_ms));
      if (typed) w.byte(static_cast<uint8_t>(v.type));
      w.str(v.value);
      ++count;
      if (body.size() >= (1u << 20)) {
        if (Status s = stage_restore(body, count); !s) return s;
        body.clear();
        count = 0;
      }
    }
  }
  if (count == 0) return Status::ok();
  return stage_restore(body, count);
}

void KvStore::apply_restore(const log::RecordView& rec, bool live) {
  BodyReader r(rec.body);
  uint64_t compact = 0, n = 0;
  if (!r.varint(&compact) || !r.varint(&n)) return;
  compact_revision_ = std::max(compact_revision_, static_cast<int64_t>(compact));
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view key, value;
    uint64_t create, mod, version, expire = 0;
    uint8_t flags;
    if (!r.str(&key) || !r.varint(&create) || !r.varint(&mod) || !r.varint(&version) || !r.byte(&flags)) return;
    uint8_t type = 0;
    if ((flags & kRestoreDeadline) && !r.varint(&expire)) return;
    if ((flags & kRestoreTyped) && !r.byte(&type)) return;
    if (!r.str(&value)) return;
    auto& hist = keys_[std::string(key)];
    auto at = std::lower_bound(hist.begin(), hist.end(), static_cast<int64_t>(mod),
                               [](const Version& v, int64_t m) { return v.mod < m; });
    if (at != hist.end() && at->mod == static_cast<int64_t>(mod)) continue;  // already there
    Version v;
    v.mod = static_cast<int64_t>(mod);
    v.create = static_cast<int64_t>(create);
    v.version = static_cast<int64_t>(version);
    v.tombstone = flags & kRestoreTombstone;
    v.expire_ms = static_cast<int64_t>(expire);
    v.type = static_cast<KvType>(type);
    v.value.assign(value);
    note_deadline(std::string(key), v);
    hist.insert(at, std::move(v));
    changes_.push_back({static_cast<int64_t>(mod), std::string(key)});
  }
  std::stable_sort(changes_.begin(), changes_.end(), [](const Change& a, const Change& b) { return a.rev < b.rev; });
  changes_.erase(std::unique(changes_.begin(), changes_.end(),
                             [](const Change& a, const Change& b) { return a.rev == b.rev && a.key == b.key; }),
                 changes_.end());
  revision_ = std::max(revision_, static_cast<int64_t>(rec.header.number));
  if (!live) staged_revision_ = std::max(staged_revision_, revision_);
  changed_ = true;
}

}  // namespace redcar::shard
