// The RESP request parser: turns the bytes a client sent into the argument
// vector of one command, for both request forms Redis accepts (multibulk
// arrays of bulk strings, and space-separated inline lines). It owns no socket
// and no input buffer; the caller feeds it the unconsumed bytes it holds.
//
// Invariants: parse() never reads outside the input it is given, never throws,
// and never reports consumed > input.size(). Every byte sequence yields one of
// complete, need-more or a protocol error whose text matches Redis 7.
//
// Thread-safety: none. One parser per connection, used by the core that owns
// that connection.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redcar::resp {

struct ParseLimits {
  // Largest bulk string in a multibulk request (Redis: proto-max-bulk-len).
  size_t max_bulk_bytes = 16 * 1024 * 1024;
  // Largest argument count of one multibulk request.
  size_t max_multibulk_count = 1024 * 1024;
  // Longest inline line, and longest "*N" / "$N" header line (Redis uses
  // PROTO_INLINE_MAX_SIZE for all three).
  size_t max_inline_bytes = 64 * 1024;
};

enum class ParseStatus { kComplete, kNeedMore, kError };

struct ParseResult {
  ParseStatus status = ParseStatus::kNeedMore;
  // Bytes of the input that made up the command (kComplete only; else 0).
  size_t consumed = 0;
  // kError only: the Redis error text without the leading '-', e.g.
  // "ERR Protocol error: invalid bulk length". The caller replies with it and
  // closes the connection, as Redis does; the stream cannot be resynchronised.
  std::string error;
  // kNeedMore only: the input size below which calling parse() again cannot
  // make progress. For a large bulk still arriving this is the exact size of
  // the bytes through its trailing CRLF, so the caller can skip re-parsing
  // until that much has been read.
  size_t need_bytes = 0;
};

class RequestParser {
 public:
  explicit RequestParser(ParseLimits limits = {}) : limits_(limits) {}

  // Parses the one command at the start of `input`.
  //
  // kComplete: `args` holds the command's arguments and `consumed` its size.
  //   `args` may be empty: an empty inline line, "*0\r\n" and "*-1\r\n" are
  //   consumed without producing a command; the caller skips them.
  // kNeedMore: the command is not all there yet; `args` is empty.
  // kError: protocol error; `args` is empty. The parser is reset.
  //
  // The views in `args` point into `input`, or into this parser's scratch
  // buffer for inline arguments that had quotes or escapes; they are valid
  // until the next call to parse() or reset() and while `input` is unchanged.
  //
  // After kNeedMore the next call must pass the same bytes again (they may have
  // moved in memory) followed by any new ones: the parser resumes where it
  // stopped instead of starting over, which keeps a command that arrives in
  // many small pieces linear in its size. Call reset() before passing
  // anything else.
  ParseResult parse(std::string_view input, std::vector<std::string_view>& args);

  // Forgets a partly parsed command.
  void reset();

  const ParseLimits& limits() const { return limits_; }

 private:
  enum class Mode { kIdle, kInline, kMultibulk };

  ParseResult parse_inline(std::string_view input, std::vector<std::string_view>& args);
  ParseResult parse_multibulk(std::string_view input, std::vector<std::string_view>& args);
  // Splits one inline line by Redis' sdssplitargs rules; false on unbalanced
  // quotes.
  bool split_inline(std::string_view line, std::vector<std::string_view>& args);
  ParseResult complete(size_t consumed);
  ParseResult need_more(size_t need_bytes);
  ParseResult fail(std::string error);

  ParseLimits limits_;

  // Resume state of the command that is partly parsed (mode_ != kIdle).
  Mode mode_ = Mode::kIdle;
  // Offset where parsing resumes: the start of the first unparsed line.
  size_t resume_pos_ = 0;
  // No line terminator lies in [resume_pos_, scan_pos_), so a search resumes
  // here rather than rescanning bytes already seen.
  size_t scan_pos_ = 0;
  // Argument count announced by the "*N" header; 0 while it is unparsed.
  size_t expected_args_ = 0;
  // (offset, length) of each bulk parsed so far. Offsets, not views, because
  // the caller may move its buffer between calls.
  std::vector<std::pair<size_t, size_t>> spans_;

  // Decoded inline arguments that are not a plain slice of the input.
  std::string scratch_;
};

}  // namespace redcar::resp
