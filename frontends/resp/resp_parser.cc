// The RESP request parser (see resp_parser.h for the contract). Behaviour
// follows Redis 7's processInlineBuffer / processMultibulkBuffer, error texts
// included, with two deliberate differences: the "\r\n" that ends a header
// line or a bulk payload is checked rather than assumed, so a client that
// miscounts a length fails at once instead of desynchronising; and every
// length limit is applied to the line itself, so the outcome never depends
// on how the bytes were split across reads.
#include "frontends/resp/resp_parser.h"

#include <algorithm>
#include <climits>
#include <cstring>

namespace redcar::resp {
namespace {

constexpr std::string_view kErrTooBigInline = "ERR Protocol error: too big inline request";
constexpr std::string_view kErrUnbalancedQuotes =
    "ERR Protocol error: unbalanced quotes in request";
constexpr std::string_view kErrTooBigMbulkCount =
    "ERR Protocol error: too big mbulk count string";
constexpr std::string_view kErrInvalidMbulkLength =
    "ERR Protocol error: invalid multibulk length";
constexpr std::string_view kErrTooBigBulkCount = "ERR Protocol error: too big bulk count string";
constexpr std::string_view kErrInvalidBulkLength = "ERR Protocol error: invalid bulk length";
constexpr std::string_view kErrBulkNotTerminated =
    "ERR Protocol error: bulk data not terminated by CRLF";

// Past this many entries the span table is released after the command, so
// one huge request does not pin its memory for the life of the connection.
constexpr size_t kRetainedSpans = 4096;

size_t saturating_add(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }

// Redis' string2ll: optional '-', no '+', no leading zeros, no "-0", at most
// 20 characters. Clients never send anything else, and accepting exactly what
// Redis accepts keeps error behaviour identical.
bool parse_length(std::string_view s, long long& out) {
  if (s.empty() || s.size() >= 21) return false;
  if (s.size() == 1 && s[0] == '0') {
    out = 0;
    return true;
  }
  size_t i = 0;
  bool negative = false;
  if (s[0] == '-') {
    negative = true;
    i = 1;
    if (s.size() == 1) return false;
  }
  if (s[i] < '1' || s[i] > '9') return false;
  unsigned long long v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    unsigned digit = static_cast<unsigned>(s[i] - '0');
    if (v > (ULLONG_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  if (negative) {
    if (v > static_cast<unsigned long long>(LLONG_MAX) + 1) return false;
    out = static_cast<long long>(0 - v);  // modular since C++20, covers LLONG_MIN
  } else {
    if (v > static_cast<unsigned long long>(LLONG_MAX)) return false;
    out = static_cast<long long>(v);
  }
  return true;
}

// isspace() in the C locale, which is what sdssplitargs skips between tokens.
bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

enum class LineState { kFound, kNeedMore, kTooBig };

// Finds the "\r" that ends the header line starting at `start`, looking at
// most max_line bytes in. `scan_pos` carries across calls the point before
// which no '\r' exists, so a header that trickles in is scanned once.
LineState find_header_end(std::string_view input, size_t start, size_t max_line,
                          size_t& scan_pos, size_t& cr) {
  const size_t limit = start + std::min(input.size() - start, saturating_add(max_line, 1));
  const size_t from = std::max(scan_pos, start);
  if (from < limit) {
    const void* hit = std::memchr(input.data() + from, '\r', limit - from);
    if (hit != nullptr) {
      cr = static_cast<size_t>(static_cast<const char*>(hit) - input.data());
      scan_pos = cr;
      return cr + 1 < input.size() ? LineState::kFound : LineState::kNeedMore;
    }
  }
  if (input.size() - start > max_line) return LineState::kTooBig;
  scan_pos = input.size();
  return LineState::kNeedMore;
}

}  // namespace

ParseResult RequestParser::parse(std::string_view input, std::vector<std::string_view>& args) {
  args.clear();
  if (mode_ != Mode::kIdle) {
    // A caller that broke the resume contract gets a fresh parse rather than
    // offsets that point past its input.
    const bool same_kind =
        !input.empty() && ((input[0] == '*') == (mode_ == Mode::kMultibulk));
    if (!same_kind || input.size() < resume_pos_ || input.size() < scan_pos_) reset();
  }
  if (input.empty()) return need_more(1);
  if (input[0] == '*') return parse_multibulk(input, args);
  return parse_inline(input, args);
}

void RequestParser::reset() {
  mode_ = Mode::kIdle;
  resume_pos_ = 0;
  scan_pos_ = 0;
  expected_args_ = 0;
  spans_.clear();
  if (spans_.capacity() > kRetainedSpans) std::vector<std::pair<size_t, size_t>>().swap(spans_);
  // scratch_ is kept: the args of the command just completed may point into it.
}

ParseResult RequestParser::complete(size_t consumed) {
  reset();
  ParseResult r;
  r.status = ParseStatus::kComplete;
  r.consumed = consumed;
  return r;
}

ParseResult RequestParser::need_more(size_t need_bytes) {
  ParseResult r;
  r.status = ParseStatus::kNeedMore;
  r.need_bytes = need_bytes;
  return r;
}

ParseResult RequestParser::fail(std::string error) {
  reset();
  ParseResult r;
  r.status = ParseStatus::kError;
  r.error = std::move(error);
  return r;
}

ParseResult RequestParser::parse_inline(std::string_view input,
                                        std::vector<std::string_view>& args) {
  mode_ = Mode::kInline;
  // A line is accepted when the bytes before its '\n' fit in max_inline_bytes,
  // so only that many (plus one) need searching.
  const size_t window = std::min(input.size(), saturating_add(limits_.max_inline_bytes, 1));
  const size_t from = std::min(scan_pos_, window);
  const void* hit = std::memchr(input.data() + from, '\n', window - from);
  if (hit == nullptr) {
    if (input.size() > limits_.max_inline_bytes) return fail(std::string(kErrTooBigInline));
    scan_pos_ = input.size();
    return need_more(input.size() + 1);
  }
  const size_t newline = static_cast<size_t>(static_cast<const char*>(hit) - input.data());
  size_t line_end = newline;
  if (line_end > 0 && input[line_end - 1] == '\r') --line_end;
  std::string_view line = input.substr(0, line_end);
  // Redis splits the line as a C string, so a NUL byte ends it.
  if (size_t nul = line.find('\0'); nul != std::string_view::npos) line = line.substr(0, nul);
  if (!split_inline(line, args)) {
    args.clear();
    return fail(std::string(kErrUnbalancedQuotes));
  }
  return complete(newline + 1);
}

bool RequestParser::split_inline(std::string_view line, std::vector<std::string_view>& args) {
  // A decoded token is never longer than its raw bytes, so reserving the line
  // length up front means scratch_ never reallocates under the views into it.
  scratch_.clear();
  scratch_.reserve(line.size());
  const size_t n = line.size();
  size_t i = 0;
  while (true) {
    while (i < n && is_blank(line[i])) ++i;
    if (i == n) return true;

    // A token without quotes is a slice of the input; the first quote switches
    // to decoding into scratch_.
    const size_t token_start = i;
    bool decoding = false;
    size_t scratch_start = 0;
    size_t token_end = 0;  // end of a plain token, separator excluded
    bool in_double = false;
    bool in_single = false;
    bool done = false;
    while (!done) {
      if (in_double) {
        if (i == n) return false;
        const char c = line[i];
        if (c == '\\' && i + 3 < n && line[i + 1] == 'x' && is_hex(line[i + 2]) &&
            is_hex(line[i + 3])) {
          const int byte = hex_value(line[i + 2]) * 16 + hex_value(line[i + 3]);
          scratch_.push_back(static_cast<char>(byte));
          i += 4;
        } else if (c == '\\' && i + 1 < n) {
          char e = line[i + 1];
          switch (e) {
            case 'n': e = '\n'; break;
            case 'r': e = '\r'; break;
            case 't': e = '\t'; break;
            case 'b': e = '\b'; break;
            case 'a': e = '\a'; break;
            default: break;
          }
          scratch_.push_back(e);
          i += 2;
        } else if (c == '"') {
          // The closing quote must end the token.
          if (i + 1 < n && !is_blank(line[i + 1])) return false;
          ++i;
          done = true;
        } else {
          scratch_.push_back(c);
          ++i;
        }
      } else if (in_single) {
        if (i == n) return false;
        const char c = line[i];
        if (c == '\\' && i + 1 < n && line[i + 1] == '\'') {
          scratch_.push_back('\'');
          i += 2;
        } else if (c == '\'') {
          if (i + 1 < n && !is_blank(line[i + 1])) return false;
          ++i;
          done = true;
        } else {
          scratch_.push_back(c);
          ++i;
        }
      } else if (i == n) {
        token_end = i;
        done = true;
      } else {
        const char c = line[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
          token_end = i;
          ++i;
          done = true;
        } else if (c == '"' || c == '\'') {
          if (!decoding) {
            decoding = true;
            scratch_start = scratch_.size();
            scratch_.append(line.substr(token_start, i - token_start));
          }
          in_double = c == '"';
          in_single = c == '\'';
          ++i;
        } else {
          if (decoding) scratch_.push_back(c);
          ++i;
        }
      }
    }

    if (decoding) {
      args.emplace_back(scratch_.data() + scratch_start, scratch_.size() - scratch_start);
    } else {
      args.push_back(line.substr(token_start, token_end - token_start));
    }
  }
}

ParseResult RequestParser::parse_multibulk(std::string_view input,
                                           std::vector<std::string_view>& args) {
  mode_ = Mode::kMultibulk;
  const size_t max_line = limits_.max_inline_bytes;

  if (expected_args_ == 0) {
    size_t cr = 0;
    switch (find_header_end(input, 0, max_line, scan_pos_, cr)) {
      case LineState::kNeedMore: return need_more(input.size() + 1);
      case LineState::kTooBig: return fail(std::string(kErrTooBigMbulkCount));
      case LineState::kFound: break;
    }
    long long count = 0;
    if (input[cr + 1] != '\n' || !parse_length(input.substr(1, cr - 1), count) ||
        count > INT_MAX) {
      return fail(std::string(kErrInvalidMbulkLength));
    }
    if (count > 0 && static_cast<size_t>(count) > limits_.max_multibulk_count) {
      return fail(std::string(kErrInvalidMbulkLength));
    }
    // Redis treats "*0" and any negative count as an empty request.
    if (count <= 0) return complete(cr + 2);
    expected_args_ = static_cast<size_t>(count);
    resume_pos_ = cr + 2;
    scan_pos_ = resume_pos_;
    spans_.clear();
  }

  while (spans_.size() < expected_args_) {
    const size_t start = resume_pos_;
    size_t cr = 0;
    switch (find_header_end(input, start, max_line, scan_pos_, cr)) {
      case LineState::kNeedMore: return need_more(input.size() + 1);
      case LineState::kTooBig: return fail(std::string(kErrTooBigBulkCount));
      case LineState::kFound: break;
    }
    if (input[start] != '$') {
      std::string error = "ERR Protocol error: expected '$', got '";
      error.push_back(input[start]);
      error.push_back('\'');
      return fail(std::move(error));
    }
    long long length = 0;
    if (input[cr + 1] != '\n' || !parse_length(input.substr(start + 1, cr - start - 1), length) ||
        length < 0 || static_cast<unsigned long long>(length) > limits_.max_bulk_bytes) {
      return fail(std::string(kErrInvalidBulkLength));
    }
    const size_t data = cr + 2;
    const size_t size = static_cast<size_t>(length);
    // The header is re-read on the next call (it is short); scan_pos_ already
    // points at its '\r', so no bytes are searched twice.
    if (input.size() - data < size + 2) return need_more(data + size + 2);
    if (input[data + size] != '\r' || input[data + size + 1] != '\n') {
      return fail(std::string(kErrBulkNotTerminated));
    }
    spans_.emplace_back(data, size);
    resume_pos_ = data + size + 2;
    scan_pos_ = resume_pos_;
  }

  args.reserve(spans_.size());
  for (const auto& [offset, size] : spans_) args.push_back(input.substr(offset, size));
  return complete(resume_pos_);
}

}  // namespace redcar::resp
