// Tests of the RESP request parser: every request form, every split point,
// pipelining, inline quoting, each Redis error text, each limit, and a seeded
// robustness run checking that chunking never changes the outcome.
#include "frontends/resp/resp_parser.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace redcar::resp {
namespace {

using Args = std::vector<std::string>;

struct Outcome {
  ParseStatus status = ParseStatus::kNeedMore;
  size_t consumed = 0;
  std::string error;
  Args args;

  bool operator==(const Outcome&) const = default;
};

Outcome to_outcome(const ParseResult& r, const std::vector<std::string_view>& views) {
  Outcome o;
  o.status = r.status;
  o.consumed = r.consumed;
  o.error = r.error;
  o.args.assign(views.begin(), views.end());
  return o;
}

Outcome parse_once(std::string_view input, ParseLimits limits = {}) {
  RequestParser parser(limits);
  std::vector<std::string_view> args;
  ParseResult r = parser.parse(input, args);
  return to_outcome(r, args);
}

Outcome complete(size_t consumed, Args args) {
  return Outcome{ParseStatus::kComplete, consumed, "", std::move(args)};
}

Outcome error(std::string text) { return Outcome{ParseStatus::kError, 0, std::move(text), {}}; }

// Feeds growing prefixes of `input` to one parser, each prefix copied into a
// fresh buffer so the parser cannot rely on the bytes staying put. Returns the
// first outcome that is not need-more, checking the need-more invariants on
// the way.
Outcome parse_byte_by_byte(std::string_view input, ParseLimits limits = {}) {
  RequestParser parser(limits);
  std::vector<std::string_view> args;
  for (size_t n = 0; n <= input.size(); ++n) {
    const std::string copy(input.substr(0, n));
    ParseResult r = parser.parse(copy, args);
    if (r.status != ParseStatus::kNeedMore) return to_outcome(r, args);
    EXPECT_TRUE(args.empty());
    EXPECT_EQ(r.consumed, 0u);
    EXPECT_GT(r.need_bytes, n);
  }
  return Outcome{};
}

// Like parse_byte_by_byte, but only calls again once need_bytes are there, as
// a network loop would. Also counts the calls.
Outcome parse_honouring_hint(std::string_view input, size_t& calls, ParseLimits limits = {}) {
  RequestParser parser(limits);
  std::vector<std::string_view> args;
  calls = 0;
  size_t n = 0;
  while (n <= input.size()) {
    ++calls;
    ParseResult r = parser.parse(input.substr(0, n), args);
    if (r.status != ParseStatus::kNeedMore) return to_outcome(r, args);
    EXPECT_GT(r.need_bytes, n);
    n = r.need_bytes;
  }
  return Outcome{};
}

// A frame must be need-more at every proper prefix, the same after a split at
// any point, and complete exactly at its end.
void expect_frame(std::string_view frame, const Args& expected, ParseLimits limits = {}) {
  SCOPED_TRACE(testing::Message() << "frame: " << testing::PrintToString(std::string(frame)));
  const Outcome want = complete(frame.size(), expected);
  EXPECT_EQ(parse_once(frame, limits), want);
  for (size_t n = 0; n < frame.size(); ++n) {
    EXPECT_EQ(parse_once(frame.substr(0, n), limits).status, ParseStatus::kNeedMore) << n;
  }
  EXPECT_EQ(parse_byte_by_byte(frame, limits), want);
  size_t calls = 0;
  EXPECT_EQ(parse_honouring_hint(frame, calls, limits), want);
  // Trailing bytes of a next command are not consumed.
  EXPECT_EQ(parse_once(std::string(frame) + "*1\r\n$4\r\nPING\r\n", limits), want);
}

std::string multibulk(const Args& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

TEST(RespParser, EmptyInputNeedsOneByte) {
  RequestParser parser;
  std::vector<std::string_view> args;
  ParseResult r = parser.parse("", args);
  EXPECT_EQ(r.status, ParseStatus::kNeedMore);
  EXPECT_EQ(r.need_bytes, 1u);
}

TEST(RespParser, MultibulkFrames) {
  expect_frame("*1\r\n$4\r\nPING\r\n", {"PING"});
  expect_frame("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n", {"SET", "k", "value"});
  expect_frame("*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", {"ECHO", ""});
  // Payloads are binary: CR, LF, NUL and '$' inside a bulk are data.
  expect_frame(multibulk({"SET", std::string("a\r\n\0$*b", 7), "\r\n"}),
               {"SET", std::string("a\r\n\0$*b", 7), "\r\n"});
  expect_frame(multibulk(Args(100, "x")), Args(100, "x"));
}

TEST(RespParser, EmptyMultibulkIsSkipped) {
  expect_frame("*0\r\n", {});
  expect_frame("*-1\r\n", {});
  expect_frame("*-5\r\n", {});
}

TEST(RespParser, InlineFrames) {
  expect_frame("PING\r\n", {"PING"});
  expect_frame("PING\n", {"PING"});
  expect_frame("set key value\r\n", {"set", "key", "value"});
  expect_frame("  a \t b   c  \r\n", {"a", "b", "c"});
  // Only a CR right before the LF is part of the terminator.
  expect_frame("a\rb\r\n", {"a", "b"});
  // \v and \f separate tokens only at their edges, as with isspace/sdssplitargs.
  expect_frame("\va\vb\f\r\n", {"a\vb\f"});
}

TEST(RespParser, EmptyInlineLinesAreSkipped) {
  expect_frame("\r\n", {});
  expect_frame("\n", {});
  expect_frame("   \t \r\n", {});
}

TEST(RespParser, InlineQuoting) {
  expect_frame("SET \"hello world\" 'it\\'s'\r\n", {"SET", "hello world", "it's"});
  expect_frame("\"\\x41\\x4a\\x7e\\n\\r\\t\\b\\a\\\\\\\"z\"\r\n",
               {"AJ~\n\r\t\b\a\\\"z"});
  // \x without two hex digits is just an escaped 'x'.
  expect_frame("\"\\xZZ\\x4\"\r\n", {"xZZx4"});
  expect_frame("\"\\xff\\x00\"\r\n", {std::string("\xff\0", 2)});
  // Single quotes only unescape \'.
  expect_frame("'a\\nb\\x41'\r\n", {"a\\nb\\x41"});
  // Empty quoted arguments are arguments.
  expect_frame("SET k \"\"\r\n", {"SET", "k", ""});
  expect_frame("'' ''\r\n", {"", ""});
  // A quote may open mid-token; the token then continues in the quotes.
  expect_frame("ab\"c d\" e\r\n", {"abc d", "e"});
  expect_frame("\"a\"\t'b'\r\n", {"a", "b"});
  // Quoted CR and LF escapes are data, not terminators.
  expect_frame("ECHO \"line1\\r\\nline2\"\r\n", {"ECHO", "line1\r\nline2"});
}

TEST(RespParser, InlineLineEndsAtNul) {
  expect_frame(std::string("PING\0junk \"\r\n", 13), {"PING"});
}

TEST(RespParser, UnbalancedQuotes) {
  const std::string want = "ERR Protocol error: unbalanced quotes in request";
  EXPECT_EQ(parse_once("SET \"abc\r\n"), error(want));
  EXPECT_EQ(parse_once("SET 'abc\r\n"), error(want));
  EXPECT_EQ(parse_once("SET \"abc\"def\r\n"), error(want));
  EXPECT_EQ(parse_once("SET 'abc'def\r\n"), error(want));
  EXPECT_EQ(parse_once("SET \"abc\\\"\r\n"), error(want));
  EXPECT_EQ(parse_once("\"abc\\\r\n"), error(want));
  EXPECT_EQ(parse_byte_by_byte("SET \"abc\r\n"), error(want));
}

TEST(RespParser, InvalidMultibulkLength) {
  const Outcome want = error("ERR Protocol error: invalid multibulk length");
  for (const char* in : {"*\r\n", "*abc\r\n", "*01\r\n", "*+1\r\n", "*-0\r\n", "*1 \r\n",
                         "*2147483648\r\n", "*99999999999999999999\r\n",
                         "*1\rX$4\r\nPING\r\n"}) {
    EXPECT_EQ(parse_once(in), want) << in;
    EXPECT_EQ(parse_byte_by_byte(in), want) << in;
  }
}

TEST(RespParser, InvalidBulkLength) {
  const Outcome want = error("ERR Protocol error: invalid bulk length");
  for (const char* in : {"*1\r\n$-1\r\n", "*1\r\n$\r\n", "*1\r\n$abc\r\n", "*1\r\n$04\r\nPING\r\n",
                         "*1\r\n$+4\r\nPING\r\n", "*1\r\n$4\rXPING\r\n",
                         "*1\r\n$9223372036854775808\r\n"}) {
    EXPECT_EQ(parse_once(in), want) << in;
    EXPECT_EQ(parse_byte_by_byte(in), want) << in;
  }
}

TEST(RespParser, ExpectedDollar) {
  EXPECT_EQ(parse_once("*1\r\nX\r\n"), error("ERR Protocol error: expected '$', got 'X'"));
  EXPECT_EQ(parse_once("*2\r\n$4\r\nECHO\r\n:1\r\n"),
            error("ERR Protocol error: expected '$', got ':'"));
  EXPECT_EQ(parse_once("*1\r\n\r\n"), error("ERR Protocol error: expected '$', got '\r'"));
  // The check waits for the whole header line, as Redis does.
  EXPECT_EQ(parse_once("*1\r\nX").status, ParseStatus::kNeedMore);
  EXPECT_EQ(parse_byte_by_byte("*1\r\n+OK\r\n"),
            error("ERR Protocol error: expected '$', got '+'"));
}

TEST(RespParser, BulkMustEndWithCrlf) {
  const Outcome want = error("ERR Protocol error: bulk data not terminated by CRLF");
  EXPECT_EQ(parse_once("*1\r\n$3\r\nPING\r\n"), want);
  EXPECT_EQ(parse_once("*1\r\n$4\r\nPING\n\r"), want);
  EXPECT_EQ(parse_byte_by_byte("*1\r\n$3\r\nPING\r\n"), want);
}

TEST(RespParser, TooBigInlineRequest) {
  const Outcome want = error("ERR Protocol error: too big inline request");
  const size_t max = ParseLimits{}.max_inline_bytes;
  EXPECT_EQ(parse_once(std::string(max + 1, 'a')), want);
  EXPECT_EQ(parse_once(std::string(max, 'a')).status, ParseStatus::kNeedMore);
  EXPECT_EQ(parse_once(std::string(max + 1, 'a') + "\r\n"), want);
  // The limit counts every byte before the LF, so the outcome is the same
  // however the line was split.
  EXPECT_EQ(parse_once(std::string(max, 'a') + "\n"), complete(max + 1, {std::string(max, 'a')}));
  EXPECT_EQ(parse_once(std::string(max, 'a') + "\r\n"), want);
  EXPECT_EQ(parse_once(std::string(max - 1, 'a') + "\r\n"),
            complete(max + 1, {std::string(max - 1, 'a')}));
}

TEST(RespParser, TooBigInlineRequestSmallLimit) {
  ParseLimits limits;
  limits.max_inline_bytes = 16;
  const Outcome want = error("ERR Protocol error: too big inline request");
  EXPECT_EQ(parse_byte_by_byte(std::string(40, 'a') + "\n", limits), want);
  EXPECT_EQ(parse_byte_by_byte(std::string(16, 'a') + "\r\n", limits), want);
  EXPECT_EQ(parse_byte_by_byte(std::string(16, 'a') + "\n", limits),
            complete(17, {std::string(16, 'a')}));
}

TEST(RespParser, TooBigCountStrings) {
  const size_t max = ParseLimits{}.max_inline_bytes;
  EXPECT_EQ(parse_once("*" + std::string(max, '1')),
            error("ERR Protocol error: too big mbulk count string"));
  EXPECT_EQ(parse_once("*" + std::string(max - 1, '1')).status, ParseStatus::kNeedMore);
  EXPECT_EQ(parse_once("*1\r\n$" + std::string(max, '1')),
            error("ERR Protocol error: too big bulk count string"));
  EXPECT_EQ(parse_once("*1\r\n$" + std::string(max - 1, '1')).status, ParseStatus::kNeedMore);
  // A header line that ends within the limit is judged by its number.
  EXPECT_EQ(parse_once("*" + std::string(100, '1') + "\r\n"),
            error("ERR Protocol error: invalid multibulk length"));

  ParseLimits limits;
  limits.max_inline_bytes = 8;
  EXPECT_EQ(parse_byte_by_byte("*000000000000\r\n", limits),
            error("ERR Protocol error: too big mbulk count string"));
  EXPECT_EQ(parse_byte_by_byte("*1\r\n$000000000000\r\n", limits),
            error("ERR Protocol error: too big bulk count string"));
}

TEST(RespParser, BulkLimit) {
  ParseLimits limits;
  limits.max_bulk_bytes = 10;
  expect_frame(multibulk({"SET", std::string(10, 'v')}), {"SET", std::string(10, 'v')}, limits);
  EXPECT_EQ(parse_once("*2\r\n$3\r\nSET\r\n$11\r\n", limits),
            error("ERR Protocol error: invalid bulk length"));
  // The default limit is Redis' 512 MB proto-max-bulk-len scaled down to 16 MB.
  EXPECT_EQ(parse_once("*1\r\n$16777217\r\n"), error("ERR Protocol error: invalid bulk length"));
  EXPECT_EQ(parse_once("*1\r\n$16777216\r\n").status, ParseStatus::kNeedMore);
}

TEST(RespParser, CountLimit) {
  ParseLimits limits;
  limits.max_multibulk_count = 3;
  expect_frame(multibulk({"a", "b", "c"}), {"a", "b", "c"}, limits);
  EXPECT_EQ(parse_once("*4\r\n", limits), error("ERR Protocol error: invalid multibulk length"));
  EXPECT_EQ(parse_once("*1048577\r\n"), error("ERR Protocol error: invalid multibulk length"));
  EXPECT_EQ(parse_once("*1048576\r\n").status, ParseStatus::kNeedMore);
}

TEST(RespParser, NeedBytesHintForLargeBulk) {
  const std::string value(100000, 'v');
  const std::string frame = multibulk({"SET", "key", value});
  const size_t value_start = frame.size() - value.size() - 2;

  RequestParser parser;
  std::vector<std::string_view> args;
  ParseResult r = parser.parse(std::string_view(frame).substr(0, value_start + 5), args);
  ASSERT_EQ(r.status, ParseStatus::kNeedMore);
  EXPECT_EQ(r.need_bytes, frame.size());
  r = parser.parse(std::string_view(frame).substr(0, frame.size() - 1), args);
  ASSERT_EQ(r.status, ParseStatus::kNeedMore);
  EXPECT_EQ(r.need_bytes, frame.size());
  r = parser.parse(frame, args);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(r.consumed, frame.size());
  ASSERT_EQ(args.size(), 3u);
  EXPECT_EQ(args[2], value);
  // The views point into the caller's buffer, not into a copy.
  EXPECT_EQ(args[2].data(), frame.data() + value_start);

  // A caller that waits for need_bytes parses the big bulk once.
  size_t calls = 0;
  EXPECT_EQ(parse_honouring_hint(frame, calls), complete(frame.size(), {"SET", "key", value}));
  EXPECT_LT(calls, 40u);
}

TEST(RespParser, ByteByByteManyArgumentsIsLinear) {
  // 20000 arguments fed one byte at a time: a parser that restarted from the
  // top on each call would do ~10^10 steps here and time out.
  const Args many(20000, "abcdef");
  const std::string frame = multibulk(many);
  RequestParser parser;
  std::vector<std::string_view> args;
  ParseResult r;
  for (size_t n = 0; n <= frame.size(); ++n) {
    r = parser.parse(std::string_view(frame).substr(0, n), args);
    if (r.status != ParseStatus::kNeedMore) break;
  }
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(r.consumed, frame.size());
  EXPECT_EQ(args.size(), many.size());
}

TEST(RespParser, PipelinedCommands) {
  const std::string buffer = std::string("*1\r\n$4\r\nPING\r\n") + "PING\r\n" +
                             "*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n" + "\r\n" + "*0\r\n" +
                             "SET a \"b c\"\n" + "*-1\r\n" + "*1\r\n$3\r\nGET";
  RequestParser parser;
  std::vector<std::string_view> args;
  std::vector<Args> commands;
  size_t pos = 0;
  size_t skipped = 0;
  ParseResult r;
  while (true) {
    r = parser.parse(std::string_view(buffer).substr(pos), args);
    if (r.status != ParseStatus::kComplete) break;
    ASSERT_GT(r.consumed, 0u);
    pos += r.consumed;
    if (args.empty()) {
      ++skipped;
    } else {
      commands.emplace_back(args.begin(), args.end());
    }
  }
  EXPECT_EQ(r.status, ParseStatus::kNeedMore);
  EXPECT_EQ(buffer.substr(pos), "*1\r\n$3\r\nGET");
  EXPECT_EQ(skipped, 3u);
  EXPECT_EQ(commands, (std::vector<Args>{{"PING"}, {"PING"}, {"ECHO", "hi"}, {"SET", "a", "b c"}}));
}

TEST(RespParser, ResetDropsPartialCommand) {
  RequestParser parser;
  std::vector<std::string_view> args;
  EXPECT_EQ(parser.parse("*2\r\n$4\r\nECHO\r\n", args).status, ParseStatus::kNeedMore);
  parser.reset();
  ParseResult r = parser.parse("PING\r\n", args);
  EXPECT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(Args(args.begin(), args.end()), Args{"PING"});
}

TEST(RespParser, BrokenResumeContractStaysInBounds) {
  // Passing less than before after need-more is a caller bug; the parser must
  // still stay inside the input and give a sane answer.
  RequestParser parser;
  std::vector<std::string_view> args;
  EXPECT_EQ(parser.parse("*2\r\n$4\r\nECHO\r\n$5\r\nhel", args).status, ParseStatus::kNeedMore);
  ParseResult r = parser.parse("*1\r\n$4\r\nPING\r\n", args);
  EXPECT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(Args(args.begin(), args.end()), Args{"PING"});
  EXPECT_EQ(parser.parse("*2\r\n$4\r\nECHO\r\n", args).status, ParseStatus::kNeedMore);
  r = parser.parse("PING\r\n", args);
  EXPECT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(Args(args.begin(), args.end()), Args{"PING"});
}

TEST(RespParser, ErrorResetsParser) {
  RequestParser parser;
  std::vector<std::string_view> args;
  EXPECT_EQ(parser.parse("*x\r\n", args).status, ParseStatus::kError);
  ParseResult r = parser.parse("*1\r\n$4\r\nPING\r\n", args);
  EXPECT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(args.size(), 1u);
}

// Random bytes drawn mostly from the protocol's own alphabet, and mutations of
// valid frames, so that most inputs get deep into the parser before failing.
std::string random_input(std::mt19937& rng) {
  static const std::string kAlphabet = "*$\r\n0123456789-+ \t\"'\\xaf:";
  static const std::vector<std::string> kSeeds = {
      "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n",
      "*1\r\n$4\r\nPING\r\n",
      "PING\r\n",
      "SET \"a b\\x41\\n\" 'c\\'d'\r\n",
      "*0\r\n",
      "*-1\r\n",
      "\r\n",
      "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n",
  };
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  std::string s;
  if (pick(4) == 0) {
    const size_t len = pick(64);
    for (size_t i = 0; i < len; ++i) {
      s.push_back(pick(8) == 0 ? static_cast<char>(rng()) : kAlphabet[pick(kAlphabet.size())]);
    }
    return s;
  }
  const size_t frames = 1 + pick(3);
  for (size_t i = 0; i < frames; ++i) s += kSeeds[pick(kSeeds.size())];
  const size_t mutations = pick(4);
  for (size_t i = 0; i < mutations && !s.empty(); ++i) {
    const size_t at = pick(s.size());
    const char c = pick(2) == 0 ? kAlphabet[pick(kAlphabet.size())] : static_cast<char>(rng());
    switch (pick(4)) {
      case 0: s[at] = c; break;
      case 1: s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), c); break;
      case 2: s.erase(at, 1); break;
      default: s.resize(at); break;
    }
  }
  return s;
}

TEST(RespParser, RandomizedRobustness) {
  std::mt19937 rng(20240611);
  size_t outcomes[3] = {0, 0, 0};
  for (int iter = 0; iter < 20000; ++iter) {
    const std::string input = random_input(rng);
    ParseLimits limits;
    if (rng() % 2 == 0) {
      limits.max_inline_bytes = 4 + rng() % 40;
      limits.max_bulk_bytes = rng() % 12;
      limits.max_multibulk_count = rng() % 6;
    }
    SCOPED_TRACE(testing::Message() << "iteration " << iter << " input "
                                    << testing::PrintToString(input));

    // Walk the buffer as a connection would, command by command.
    RequestParser parser(limits);
    std::vector<std::string_view> args;
    size_t pos = 0;
    while (true) {
      const std::string_view rest = std::string_view(input).substr(pos);
      const ParseResult r = parser.parse(rest, args);
      ASSERT_LE(r.consumed, rest.size());
      const Outcome once = to_outcome(r, args);
      // The same command fed in pieces, and fed as the hint suggests, must
      // come out identical.
      const Outcome pieces = parse_byte_by_byte(rest, limits);
      size_t calls = 0;
      const Outcome hinted = parse_honouring_hint(rest, calls, limits);
      if (r.status == ParseStatus::kNeedMore) {
        ASSERT_EQ(r.consumed, 0u);
        ASSERT_GT(r.need_bytes, rest.size());
        ASSERT_EQ(pieces.status, ParseStatus::kNeedMore);
        ++outcomes[1];
        break;
      }
      ASSERT_EQ(pieces, once);
      ASSERT_EQ(hinted, once);
      if (r.status == ParseStatus::kError) {
        ASSERT_TRUE(args.empty());
        ASSERT_EQ(r.error.rfind("ERR Protocol error: ", 0), 0u) << r.error;
        ++outcomes[2];
        break;
      }
      ASSERT_GT(r.consumed, 0u);
      for (std::string_view a : args) {
        // Each view lies in the input or in the parser's scratch space; either
        // way it must be readable, which the sanitizer build checks here.
        ASSERT_LE(a.size(), rest.size());
        volatile size_t sum = 0;
        for (char c : a) sum = sum + static_cast<unsigned char>(c);
      }
      ++outcomes[0];
      pos += r.consumed;
    }
  }
  // The generator must reach every outcome often, or the test proves little.
  EXPECT_GT(outcomes[0], 5000u);
  EXPECT_GT(outcomes[1], 2000u);
  EXPECT_GT(outcomes[2], 2000u);
}

}  // namespace
}  // namespace redcar::resp
