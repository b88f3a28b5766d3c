// Tests of the RESP reply writer: the exact bytes of every reply type in
// RESP2 and in RESP3.
#include "frontends/resp/resp_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace redcar::resp {
namespace {

// Runs `write` against a fresh writer of each protocol and returns the bytes.
template <typename F>
std::string encode(int protocol, F write) {
  std::string out;
  ReplyWriter w(out, protocol);
  write(w);
  return out;
}

template <typename F>
void expect_both(F write, std::string_view resp2, std::string_view resp3) {
  EXPECT_EQ(encode(2, write), resp2);
  EXPECT_EQ(encode(3, write), resp3);
}

TEST(RespWriter, SimpleString) {
  expect_both([](ReplyWriter& w) { w.simple("OK"); }, "+OK\r\n", "+OK\r\n");
  expect_both([](ReplyWriter& w) { w.simple(""); }, "+\r\n", "+\r\n");
  expect_both([](ReplyWriter& w) { w.simple("a\r\nb"); }, "+a  b\r\n", "+a  b\r\n");
}

TEST(RespWriter, Error) {
  expect_both([](ReplyWriter& w) { w.error("ERR unknown command"); }, "-ERR unknown command\r\n",
              "-ERR unknown command\r\n");
  expect_both([](ReplyWriter& w) { w.error("-WRONGTYPE bad"); }, "-WRONGTYPE bad\r\n",
              "-WRONGTYPE bad\r\n");
  // A CR or LF would end the frame early; they become spaces as in Redis.
  expect_both([](ReplyWriter& w) { w.error("ERR a\rb\nc\r\n"); }, "-ERR a b c  \r\n",
              "-ERR a b c  \r\n");
}

TEST(RespWriter, Integer) {
  expect_both([](ReplyWriter& w) { w.integer(0); }, ":0\r\n", ":0\r\n");
  expect_both([](ReplyWriter& w) { w.integer(-1); }, ":-1\r\n", ":-1\r\n");
  expect_both([](ReplyWriter& w) { w.integer(1234567890123); }, ":1234567890123\r\n",
              ":1234567890123\r\n");
  expect_both([](ReplyWriter& w) { w.integer(std::numeric_limits<int64_t>::min()); },
              ":-9223372036854775808\r\n", ":-9223372036854775808\r\n");
  expect_both([](ReplyWriter& w) { w.integer(std::numeric_limits<int64_t>::max()); },
              ":9223372036854775807\r\n", ":9223372036854775807\r\n");
}

TEST(RespWriter, Bulk) {
  expect_both([](ReplyWriter& w) { w.bulk("hello"); }, "$5\r\nhello\r\n", "$5\r\nhello\r\n");
  expect_both([](ReplyWriter& w) { w.bulk(""); }, "$0\r\n\r\n", "$0\r\n\r\n");
  // Bulk strings are binary-safe: CR, LF and NUL pass through untouched.
  const std::string binary("a\r\n\0b", 5);
  expect_both([&](ReplyWriter& w) { w.bulk(binary); }, std::string("$5\r\na\r\n\0b\r\n", 11),
              std::string("$5\r\na\r\n\0b\r\n", 11));
  const std::string big(100000, 'x');
  EXPECT_EQ(encode(2, [&](ReplyWriter& w) { w.bulk(big); }), "$100000\r\n" + big + "\r\n");
}

TEST(RespWriter, Nulls) {
  expect_both([](ReplyWriter& w) { w.null(); }, "$-1\r\n", "_\r\n");
  expect_both([](ReplyWriter& w) { w.null_array(); }, "*-1\r\n", "_\r\n");
}

TEST(RespWriter, AggregateHeaders) {
  expect_both([](ReplyWriter& w) { w.array(0); }, "*0\r\n", "*0\r\n");
  expect_both([](ReplyWriter& w) { w.array(3); }, "*3\r\n", "*3\r\n");
  expect_both([](ReplyWriter& w) { w.map(2); }, "*4\r\n", "%2\r\n");
  expect_both([](ReplyWriter& w) { w.map(0); }, "*0\r\n", "%0\r\n");
  expect_both([](ReplyWriter& w) { w.set(5); }, "*5\r\n", "~5\r\n");
  expect_both([](ReplyWriter& w) { w.push(3); }, "*3\r\n", ">3\r\n");
}

TEST(RespWriter, Boolean) {
  expect_both([](ReplyWriter& w) { w.boolean(true); }, ":1\r\n", "#t\r\n");
  expect_both([](ReplyWriter& w) { w.boolean(false); }, ":0\r\n", "#f\r\n");
}

TEST(RespWriter, Double) {
  struct Case {
    double value;
    std::string_view text;
  };
  const Case cases[] = {
      {1.5, "1.5"},
      {0.0, "0"},
      {-0.0, "-0"},
      {3.0, "3"},
      {-2.25, "-2.25"},
      {1.1, "1.1"},
      {0.1 + 0.2, "0.30000000000000004"},
      {1e20, "1e+20"},
      {1e16, "1e+16"},
      {1e-5, "1e-05"},
      {123456789012.0, "123456789012"},
      {3.141592653589793, "3.141592653589793"},
      {std::numeric_limits<double>::max(), "1.7976931348623157e+308"},
      {std::numeric_limits<double>::denorm_min(), "5e-324"},
      {std::numeric_limits<double>::infinity(), "inf"},
      {-std::numeric_limits<double>::infinity(), "-inf"},
      {std::nan(""), "nan"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    const std::string resp2 =
        "$" + std::to_string(c.text.size()) + "\r\n" + std::string(c.text) + "\r\n";
    const std::string resp3 = "," + std::string(c.text) + "\r\n";
    expect_both([&](ReplyWriter& w) { w.double_value(c.value); }, resp2, resp3);
  }
}

TEST(RespWriter, DoubleRoundTrips) {
  // Whatever the digits, the text must read back as the same double.
  double v = 1.0;
  for (int i = 0; i < 2000; ++i) {
    v = v * 1.37 + 0.001 * i;
    if (i % 7 == 0) v = 1.0 / v;
    std::string out;
    ReplyWriter w(out, 3);
    w.double_value(v);
    ASSERT_GE(out.size(), 3u);
    const std::string text = out.substr(1, out.size() - 3);
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), v) << text;
  }
}

TEST(RespWriter, Verbatim) {
  expect_both([](ReplyWriter& w) { w.verbatim("txt", "Some string"); },
              "$11\r\nSome string\r\n", "=15\r\ntxt:Some string\r\n");
  expect_both([](ReplyWriter& w) { w.verbatim("mkd", ""); }, "$0\r\n\r\n", "=4\r\nmkd:\r\n");
}

TEST(RespWriter, BulkArray) {
  const std::vector<std::string_view> items = {"a", "", "xyz"};
  expect_both([&](ReplyWriter& w) { w.bulk_array(items); },
              "*3\r\n$1\r\na\r\n$0\r\n\r\n$3\r\nxyz\r\n",
              "*3\r\n$1\r\na\r\n$0\r\n\r\n$3\r\nxyz\r\n");
  expect_both([](ReplyWriter& w) { w.bulk_array({}); }, "*0\r\n", "*0\r\n");
}

TEST(RespWriter, BulkId) {
  expect_both([](ReplyWriter& w) { w.bulk_id(1700000000123, 7); }, "$15\r\n1700000000123-7\r\n",
              "$15\r\n1700000000123-7\r\n");
  expect_both([](ReplyWriter& w) { w.bulk_id(UINT64_MAX, UINT64_MAX); },
              "$41\r\n18446744073709551615-18446744073709551615\r\n",
              "$41\r\n18446744073709551615-18446744073709551615\r\n");
}

TEST(RespWriter, AnArrayCountedAfterItsElementsGetsItsHeaderInFront) {
  std::string out = "+before\r\n";
  ReplyWriter w(out);
  w.open_array();
  for (int i = 0; i < 12; ++i) {
    w.count_element();
    w.integer(i);
  }
  w.close_array();
  std::string want = "+before\r\n*12\r\n";
  for (int i = 0; i < 12; ++i) want += ":" + std::to_string(i) + "\r\n";
  EXPECT_EQ(out, want);
  // Nothing counted: an empty array.
  out.clear();
  w.open_array();
  w.close_array();
  EXPECT_EQ(out, "*0\r\n");
  // Dropped: what followed the open goes, what preceded it stays.
  out = "+kept\r\n";
  w.open_array();
  w.count_element();
  w.bulk("gone");
  w.drop_open_array();
  w.error("ERR read failed");
  EXPECT_EQ(out, "+kept\r\n-ERR read failed\r\n");
}

TEST(RespWriter, AppendsToExistingBufferAndSwitchesProtocol) {
  std::string out = "prefix";
  ReplyWriter w(out);
  EXPECT_EQ(w.protocol(), 2);
  w.map(1);
  w.bulk("k");
  w.null();
  w.set_protocol(3);
  EXPECT_EQ(w.protocol(), 3);
  w.map(1);
  w.bulk("k");
  w.null();
  EXPECT_EQ(out, "prefix*2\r\n$1\r\nk\r\n$-1\r\n%1\r\n$1\r\nk\r\n_\r\n");
  EXPECT_EQ(&w.buffer(), &out);
}

TEST(RespWriter, NestedReply) {
  // An XRANGE-style entry: [id, [field, value]] with a map around it in RESP3.
  expect_both(
      [](ReplyWriter& w) {
        w.map(1);
        w.bulk("stream");
        w.array(1);
        w.array(2);
        w.bulk("1-0");
        w.bulk_array(std::vector<std::string_view>{"f", "v"});
      },
      "*2\r\n$6\r\nstream\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n",
      "%1\r\n$6\r\nstream\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
}

}  // namespace
}  // namespace redcar::resp
