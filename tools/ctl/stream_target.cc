// Parsing of STREAM[:FROM[:TO]].
#include "tools/ctl/stream_target.h"

#include <charconv>

namespace redcar::ctl {

bool parse_u64(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && p == text.data() + text.size();
}

static bool take_number(std::string_view* s, uint64_t* out) {
  size_t colon = s->rfind(':');
  if (colon == std::string_view::npos || !parse_u64(s->substr(colon + 1), out)) return false;
  *s = s->substr(0, colon);
  return true;
}

bool parse_stream_target(std::string_view text, bool allow_to, StreamTarget* out, std::string* error) {
  StreamTarget t;
  if (text == "*") {
    t.all = true;
    *out = t;
    return true;
  }
  std::string_view s = text;
  uint64_t last = 0, before = 0;
  if (take_number(&s, &last)) {
    std::string_view s2 = s;
    if (allow_to && take_number(&s2, &before)) {
      t.from = before;
      t.to = last;
      s = s2;
    } else {
      t.from = last;
    }
  }
  if (s.empty()) {
    *error = "'" + std::string(text) + "': no stream name (want " + (allow_to ? "STREAM[:FROM[:TO]]" : "STREAM[:FROM]") + ")";
    return false;
  }
  if (t.to && t.from && *t.from > *t.to) {
    *error = "'" + std::string(text) + "': FROM is past TO";
    return false;
  }
  t.stream = std::string(s);
  *out = std::move(t);
  return true;
}

}  // namespace redcar::ctl
