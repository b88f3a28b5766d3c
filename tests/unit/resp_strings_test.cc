// The string commands beyond GET and SET in process (resp_harness.h): the
// counters, APPEND, STRLEN, GETRANGE, SETRANGE, GETSET, GETDEL, SETNX and
// MSETNX, each reply and error as Redis 7.0 words it, what survives a cold
// reopen, and counters that two clients increment at once losing nothing.
#include <gtest/gtest.h>

#include "tests/unit/resp_harness.h"

namespace redcar::test {
namespace {

const char* kNotInteger = "ERR value is not an integer or out of range";

TEST(RespStrings, CountersGoUpAndDownAndRefuseWhatIsNotAnInteger) {
  RespHarness h;
  EXPECT_EQ(h.run({"INCR", "n"}).integer(), 1);
  EXPECT_EQ(h.run({"INCRBY", "n", "41"}).integer(), 42);
  EXPECT_EQ(h.run({"DECR", "n"}).integer(), 41);
  EXPECT_EQ(h.run({"DECRBY", "n", "-9"}).integer(), 50);
  EXPECT_EQ(h.run({"GET", "n"}).str(), "50");
  EXPECT_EQ(h.run({"DECR", "fresh"}).integer(), -1);
  EXPECT_EQ(h.run({"INCRBY", "n", "x"}).str(), kNotInteger);
  EXPECT_EQ(h.run({"INCRBY", "n", "1.5"}).str(), kNotInteger);
  h.run({"SET", "word", "hello"});
  EXPECT_EQ(h.run({"INCR", "word"}).str(), kNotInteger);
  for (const char* bad : {" 1", "1 ", "+1", "01", "-0", "", "99999999999999999999"}) {
    h.run({"SET", "odd", bad});
    EXPECT_EQ(h.run({"INCR", "odd"}).str(), kNotInteger) << "'" << bad << "'";
  }
  EXPECT_EQ(h.run({"GET", "word"}).str(), "hello");  // a refused update writes nothing
  h.run({"SET", "big", "9223372036854775807"});
  EXPECT_EQ(h.run({"INCR", "big"}).str(), "ERR increment or decrement would overflow");
  h.run({"SET", "small", "-9223372036854775808"});
  EXPECT_EQ(h.run({"DECR", "small"}).str(), "ERR increment or decrement would overflow");
  EXPECT_EQ(h.run({"DECRBY", "n", "-9223372036854775808"}).str(), "ERR decrement would overflow");
  EXPECT_EQ(h.run({"INCR"}).str(), "ERR wrong number of arguments for 'incr' command");
}

TEST(RespStrings, IncrbyfloatAnswersAsRedisPrintsIt) {
  RespHarness h;
  EXPECT_EQ(h.run({"INCRBYFLOAT", "f", "10.5"}).str(), "10.5");
  EXPECT_EQ(h.run({"INCRBYFLOAT", "f", "0.1"}).str(), "10.6");
  EXPECT_EQ(h.run({"INCRBYFLOAT", "f", "-5"}).str(), "5.6");
  h.run({"SET", "e", "5.0e3"});
  EXPECT_EQ(h.run({"INCRBYFLOAT", "e", "2.0e2"}).str(), "5200");
  EXPECT_EQ(h.run({"INCRBYFLOAT", "f", "abc"}).str(), "ERR value is not a valid float");
  h.run({"SET", "w", "nope"});
  EXPECT_EQ(h.run({"INCRBYFLOAT", "w", "1"}).str(), "ERR value is not a valid float");
  EXPECT_EQ(h.run({"INCRBYFLOAT", "f", "inf"}).str(), "ERR increment would produce NaN or Infinity");
  EXPECT_EQ(h.run({"GET", "f"}).str(), "5.6");
}

TEST(RespStrings, AppendStrlenGetrangeSetrange) {
  RespHarness h;
  EXPECT_EQ(h.run({"APPEND", "s", "Hello"}).integer(), 5);
  EXPECT_EQ(h.run({"APPEND", "s", " World"}).integer(), 11);
  EXPECT_EQ(h.run({"STRLEN", "s"}).integer(), 11);
  EXPECT_EQ(h.run({"STRLEN", "none"}).integer(), 0);
  EXPECT_EQ(h.run({"GETRANGE", "s", "0", "4"}).str(), "Hello");
  EXPECT_EQ(h.run({"GETRANGE", "s", "-5", "-1"}).str(), "World");
  EXPECT_EQ(h.run({"GETRANGE", "s", "0", "-1"}).str(), "Hello World");
  EXPECT_EQ(h.run({"GETRANGE", "s", "6", "100"}).str(), "World");
  EXPECT_EQ(h.run({"GETRANGE", "s", "5", "3"}).str(), "");
  EXPECT_EQ(h.run({"GETRANGE", "s", "-1", "-5"}).str(), "");
  EXPECT_EQ(h.run({"GETRANGE", "none", "0", "-1"}).str(), "");
  EXPECT_EQ(h.run({"SUBSTR", "s", "0", "0"}).str(), "H");
  EXPECT_EQ(h.run({"GETRANGE", "s", "a", "1"}).str(), kNotInteger);
  EXPECT_EQ(h.run({"SETRANGE", "s", "6", "Redis"}).integer(), 11);
  EXPECT_EQ(h.run({"GET", "s"}).str(), "Hello Redis");
  // Past the end the gap is zero bytes.
  EXPECT_EQ(h.run({"SETRANGE", "pad", "3", "ab"}).integer(), 5);
  EXPECT_EQ(h.run({"GET", "pad"}).str(), std::string("\0\0\0ab", 5));
  // An empty write into nothing makes no key.
  EXPECT_EQ(h.run({"SETRANGE", "empty", "10", ""}).integer(), 0);
  EXPECT_EQ(h.run({"EXISTS", "empty"}).integer(), 0);
  EXPECT_EQ(h.run({"SETRANGE", "s", "-1", "x"}).str(), "ERR offset is out of range");
  EXPECT_EQ(h.run({"SETRANGE", "s", "536870911", "xy"}).str(),
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
  h.run({"XADD", "stream", "*", "f", "v"});
  EXPECT_EQ(h.run({"STRLEN", "stream"}).str(), "WRONGTYPE Operation against a key holding the wrong kind of value");
}

TEST(RespStrings, GetsetGetdelSetnxMsetnx) {
  RespHarness h;
  EXPECT_TRUE(h.run({"GETSET", "k", "one"}).is_null());
  EXPECT_EQ(h.run({"GETSET", "k", "two"}).str(), "one");
  EXPECT_EQ(h.run({"GETDEL", "k"}).str(), "two");
  EXPECT_TRUE(h.run({"GETDEL", "k"}).is_null());
  EXPECT_EQ(h.run({"EXISTS", "k"}).integer(), 0);
  EXPECT_EQ(h.run({"SETNX", "k", "first"}).integer(), 1);
  EXPECT_EQ(h.run({"SETNX", "k", "second"}).integer(), 0);
  EXPECT_EQ(h.run({"GET", "k"}).str(), "first");
  EXPECT_EQ(h.run({"MSETNX", "a", "1", "b", "2"}).integer(), 1);
  EXPECT_EQ(h.run({"MSETNX", "b", "x", "c", "3"}).integer(), 0);  // b exists: none is set
  EXPECT_EQ(h.run({"EXISTS", "c"}).integer(), 0);
  EXPECT_EQ(h.run({"GET", "b"}).str(), "2");
  EXPECT_EQ(h.run({"MSETNX", "d", "1", "d", "2"}).integer(), 1);
  EXPECT_EQ(h.run({"GET", "d"}).str(), "2");
  EXPECT_EQ(h.run({"MSETNX", "a"}).str(), "ERR wrong number of arguments for 'msetnx' command");
}

// A stream's name is taken: string writes answer WRONGTYPE (SETNX and
// MSETNX see an existing key), and no string appears beside the stream.
TEST(RespStrings, StringWritesLeaveAStreamsNameAlone) {
  RespHarness h;
  h.run({"XADD", "s", "*", "f", "v"});
  const char* wrong = "WRONGTYPE Operation against a key holding the wrong kind of value";
  for (std::vector<std::string> cmd : std::vector<std::vector<std::string>>{
           {"INCR", "s"}, {"DECRBY", "s", "2"}, {"INCRBYFLOAT", "s", "1.5"}, {"APPEND", "s", "x"},
           {"SETRANGE", "s", "0", "x"}, {"GETSET", "s", "x"}, {"GETDEL", "s"}, {"STRLEN", "s"},
           {"GETRANGE", "s", "0", "1"}}) {
    EXPECT_EQ(h.run(cmd).str(), wrong) << cmd[0];
  }
  EXPECT_EQ(h.run({"SETNX", "s", "x"}).integer(), 0);
  EXPECT_EQ(h.run({"MSETNX", "fresh", "1", "s", "x"}).integer(), 0);
  EXPECT_EQ(h.run({"EXISTS", "fresh"}).integer(), 0);
  EXPECT_EQ(h.run({"DBSIZE"}).integer(), 1);
  EXPECT_EQ(h.run({"TYPE", "s"}).str(), "stream");
  // A counter that exists needs no look at the streams; a new one still works.
  EXPECT_EQ(h.run({"INCR", "c"}).integer(), 1);
  EXPECT_EQ(h.run({"INCR", "c"}).integer(), 2);
}

TEST(RespStrings, CountersOfTwoClientsLoseNothingAndSurviveAReopen) {
  RespHarness h;
  auto a = h.client();
  auto b = h.client();
  // Pipelined from both clients at once: every increment is read-modify-
  // written against the last one staged, none against a stale value.
  std::vector<uint64_t> sa, sb;
  for (int i = 0; i < 200; ++i) {
    sa.push_back(h.send(a, {"INCR", "counter"}));
    sb.push_back(h.send(b, {"INCRBY", "counter", "2"}));
  }
  std::set<int64_t> seen;
  for (uint64_t s : sa) seen.insert(h.wait(a, s).integer());
  for (uint64_t s : sb) seen.insert(h.wait(b, s).integer());
  EXPECT_EQ(seen.size(), 400u);  // every answer a different total
  EXPECT_EQ(*seen.rbegin(), 600);
  h.run(a, {"APPEND", "log", "x"});
  h.reopen_cold();
  EXPECT_EQ(h.run({"GET", "counter"}).str(), "600");
  EXPECT_EQ(h.run({"INCR", "counter"}).integer(), 601);
  EXPECT_EQ(h.run({"GET", "log"}).str(), "x");
}

}  // namespace
}  // namespace redcar::test
