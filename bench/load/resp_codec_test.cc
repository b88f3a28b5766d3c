// The RESP command writer and reply reader, reply type by reply type, and
// replies cut at every byte.
#include "resp_codec.h"

#include <gtest/gtest.h>

namespace redcar::load::resp {
namespace {

Parse parse(std::string_view in, Reply* r, size_t* used) { return parse_reply(in, r, used); }

TEST(RespCodec, WritesCommandsAsBulkArrays) {
  std::string out;
  append_command(out, {"SET", "k", ""});
  EXPECT_EQ(out, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
}

TEST(RespCodec, SimpleErrorIntegerBulk) {
  Reply r;
  size_t used = 0;
  ASSERT_EQ(parse("+OK\r\n", &r, &used), Parse::kComplete);
  EXPECT_EQ(r.type, '+');
  EXPECT_EQ(r.text, "OK");
  EXPECT_EQ(used, 5u);

  ASSERT_EQ(parse("-ERR no such key\r\n+OK\r\n", &r, &used), Parse::kComplete);
  EXPECT_TRUE(r.is_error);
  EXPECT_EQ(r.text, "ERR no such key");
  EXPECT_EQ(used, 18u);

  ASSERT_EQ(parse(":42\r\n", &r, &used), Parse::kComplete);
  EXPECT_EQ(r.text, "42");

  ASSERT_EQ(parse("$5\r\nhe\r\no\r\n", &r, &used), Parse::kComplete);
  EXPECT_EQ(r.text, "he\r\no");
  EXPECT_EQ(r.bulk_bytes, 5u);

  ASSERT_EQ(parse("$-1\r\n", &r, &used), Parse::kComplete);
  EXPECT_TRUE(r.null);
  ASSERT_EQ(parse("_\r\n", &r, &used), Parse::kComplete);
  EXPECT_TRUE(r.null);
}

TEST(RespCodec, NestedArraysAsXrangeAnswers) {
  // Two entries: [id, [field, value]].
  const std::string in =
      "*2\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$3\r\nabc\r\n*2\r\n$3\r\n2-0\r\n*2\r\n$1\r\nf\r\n$3\r\nxyz\r\n";
  Reply r;
  size_t used = 0;
  ASSERT_EQ(parse(in, &r, &used), Parse::kComplete);
  EXPECT_EQ(r.type, '*');
  EXPECT_EQ(r.elements, 2);
  EXPECT_EQ(r.bulk_bytes, 14u);
  EXPECT_EQ(used, in.size());
  // Cut anywhere, it is incomplete, never malformed.
  for (size_t n = 0; n < in.size(); ++n) {
    ASSERT_EQ(parse(std::string_view(in).substr(0, n), &r, &used), Parse::kIncomplete) << n;
  }
}

TEST(RespCodec, Resp3Aggregates) {
  Reply r;
  size_t used = 0;
  ASSERT_EQ(parse("%1\r\n+a\r\n:1\r\n", &r, &used), Parse::kComplete);
  EXPECT_EQ(r.elements, 2);
  ASSERT_EQ(parse("|1\r\n+ttl\r\n:3\r\n$2\r\nhi\r\n", &r, &used), Parse::kComplete);
  EXPECT_EQ(r.type, '$');
  EXPECT_EQ(r.text, "hi");
  ASSERT_EQ(parse("!5\r\nERR x\r\n", &r, &used), Parse::kComplete);
  EXPECT_TRUE(r.is_error);
  EXPECT_EQ(r.text, "ERR x");
}

TEST(RespCodec, Malformed) {
  Reply r;
  size_t used = 0;
  EXPECT_EQ(parse("?x\r\n", &r, &used), Parse::kMalformed);
  EXPECT_EQ(parse("$abc\r\n", &r, &used), Parse::kMalformed);
  EXPECT_EQ(parse("$1\r\nab\r\n", &r, &used), Parse::kMalformed);
  EXPECT_EQ(parse("+OK\rx", &r, &used), Parse::kMalformed);
  std::string deep;
  for (int i = 0; i < kMaxDepth + 2; ++i) deep += "*1\r\n";
  deep += ":1\r\n";
  EXPECT_EQ(parse(deep, &r, &used), Parse::kMalformed);
}

}  // namespace
}  // namespace redcar::load::resp
