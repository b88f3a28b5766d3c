#include "engine/common/types.h"

#include <charconv>

namespace redcar {

StreamId StreamId::next() const {
  if (seq != UINT64_MAX) return {ms, seq + 1};
  if (ms != UINT64_MAX) return {ms + 1, 0};
  return *this;
}

StreamId StreamId::prev() const {
  if (seq != 0) return {ms, seq - 1};
  if (ms != 0) return {ms - 1, UINT64_MAX};
  return *this;
}

bool StreamId::parse(std::string_view text, uint64_t missing_seq, StreamId* out) {
  auto dash = text.find('-');
  std::string_view ms_part = text.substr(0, dash);
  if (ms_part.empty()) return false;
  uint64_t ms = 0, seq = missing_seq;
  auto r = std::from_chars(ms_part.data(), ms_part.data() + ms_part.size(), ms);
  if (r.ec != std::errc() || r.ptr != ms_part.data() + ms_part.size()) return false;
  if (dash != std::string_view::npos) {
    std::string_view seq_part = text.substr(dash + 1);
    if (seq_part.empty()) return false;
    r = std::from_chars(seq_part.data(), seq_part.data() + seq_part.size(), seq);
    if (r.ec != std::errc() || r.ptr != seq_part.data() + seq_part.size()) return false;
  }
  *out = {ms, seq};
  return true;
}

void KvExpiryStats::add(const KvExpiryStats& other) {
  if (databases.size() < other.databases.size()) databases.resize(other.databases.size());
  for (size_t db = 0; db < other.databases.size(); ++db) {
    Database& d = databases[db];
    const Database& o = other.databases[db];
    if (d.expiring + o.expiring) {
      // Means weighted by their counts (in 128 bits: deadlines may be far).
      __int128 sum = static_cast<__int128>(d.avg_ttl_ms) * d.expiring + static_cast<__int128>(o.avg_ttl_ms) * o.expiring;
      d.avg_ttl_ms = static_cast<int64_t>(sum / static_cast<__int128>(d.expiring + o.expiring));
    }
    d.keys += o.keys;
    d.expiring += o.expiring;
  }
  expired += other.expired;
}

}  // namespace redcar
