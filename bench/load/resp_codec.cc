// RESP command writer and reply reader (resp_codec.h).
#include "resp_codec.h"

#include <algorithm>
#include <charconv>

namespace redcar::load::resp {
namespace {

void append_number(std::string& out, size_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
}

// The line at `pos` (without its CRLF) and the position after it.
Parse line_at(std::string_view in, size_t pos, std::string_view* line, size_t* next) {
  const size_t cr = in.find('\r', pos);
  if (cr == std::string_view::npos || cr + 1 >= in.size()) return Parse::kIncomplete;
  if (in[cr + 1] != '\n') return Parse::kMalformed;
  *line = in.substr(pos, cr - pos);
  *next = cr + 2;
  return Parse::kComplete;
}

bool to_int(std::string_view s, int64_t* v) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// Parses the value at `*pos`, advancing it. `top` receives what the caller
// keeps of the outermost value.
Parse parse_at(std::string_view in, size_t* pos, int depth, Reply* top) {
  if (depth > kMaxDepth) return Parse::kMalformed;
  if (*pos >= in.size()) return Parse::kIncomplete;
  const char type = in[*pos];
  std::string_view line;
  size_t next = 0;
  if (Parse p = line_at(in, *pos + 1, &line, &next); p != Parse::kComplete) return p;
  if (depth == 0) top->type = type;
  switch (type) {
    case '+':
    case '-':
    case ':':
    case ',':
    case '#':
    case '(':
      if (depth == 0) {
        top->text = line;
        top->is_error = type == '-';
      }
      *pos = next;
      return Parse::kComplete;
    case '_':
      if (depth == 0) top->null = true;
      *pos = next;
      return Parse::kComplete;
    case '$':
    case '!':
    case '=': {
      int64_t len = 0;
      if (!to_int(line, &len) || len < -1) return Parse::kMalformed;
      if (len == -1) {
        if (depth == 0) top->null = true;
        *pos = next;
        return Parse::kComplete;
      }
      const auto n = static_cast<size_t>(len);
      if (in.size() < next + n + 2) return Parse::kIncomplete;
      if (in[next + n] != '\r' || in[next + n + 1] != '\n') return Parse::kMalformed;
      if (depth == 0) {
        top->text = in.substr(next, n);
        top->is_error = type == '!';
      }
      top->bulk_bytes += n;
      *pos = next + n + 2;
      return Parse::kComplete;
    }
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      int64_t n = 0;
      if (!to_int(line, &n) || n < -1) return Parse::kMalformed;
      if (n == -1) {
        if (depth == 0) top->null = true;
        *pos = next;
        return Parse::kComplete;
      }
      if (type == '%' || type == '|') n *= 2;
      *pos = next;
      for (int64_t i = 0; i < n; ++i) {
        if (Parse p = parse_at(in, pos, depth + 1, top); p != Parse::kComplete) return p;
      }
      if (type == '|') {
        // An attribute comes before the reply it describes.
        if (depth == 0) top->bulk_bytes = 0;
        return parse_at(in, pos, depth, top);
      }
      if (depth == 0) top->elements = n;
      return Parse::kComplete;
    }
    default:
      return Parse::kMalformed;
  }
}

}  // namespace

void append_command(std::string& out, std::initializer_list<std::string_view> args) {
  out.push_back('*');
  append_number(out, args.size());
  out.append("\r\n");
  for (std::string_view a : args) {
    out.push_back('$');
    append_number(out, a.size());
    out.append("\r\n");
    out.append(a);
    out.append("\r\n");
  }
}

Parse parse_reply(std::string_view in, Reply* reply, size_t* consumed) {
  *reply = Reply{};
  size_t pos = 0;
  const Parse p = parse_at(in, &pos, 0, reply);
  if (p == Parse::kComplete) *consumed = pos;
  return p;
}

Parse parse_elements(std::string_view in, Reply* reply, Reply* elements, size_t max, size_t* consumed) {
  const Parse p = parse_reply(in, reply, consumed);
  for (size_t i = 0; i < max; ++i) elements[i] = Reply{};
  // An attribute in front would shift the header; pub/sub never sends one.
  if (p != Parse::kComplete || (reply->type != '*' && reply->type != '>') || reply->null || in[0] != reply->type) {
    return p;
  }
  // The whole reply is known to be complete and well formed, so each
  // element parses whole; the header line is skipped to reach the first.
  const std::string_view whole = in.substr(0, *consumed);
  size_t pos = whole.find('\n') + 1;
  const size_t n = std::min(max, static_cast<size_t>(reply->elements));
  for (size_t i = 0; i < n; ++i) {
    size_t used = 0;
    if (parse_reply(whole.substr(pos), &elements[i], &used) != Parse::kComplete) return Parse::kMalformed;
    pos += used;
  }
  return p;
}

}  // namespace redcar::load::resp
