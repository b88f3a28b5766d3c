// Key commands beyond GET/SET/DEL in process (resp_harness.h): UNLINK,
// TOUCH, RANDOMKEY, EXISTS with repeats, OBJECT, MEMORY, RENAME, RENAMENX
// and COPY, each reply and error as Redis 7.0 words it; streams, which
// cannot move, refused in words that say why.
#include <gtest/gtest.h>

#include <set>

#include "tests/unit/resp_harness.h"

namespace redcar::test {
namespace {

TEST(RespKeys, UnlinkTouchRandomkeyAndExistsWithRepeats) {
  RespHarness h;
  EXPECT_TRUE(h.run({"RANDOMKEY"}).is_null());
  h.run({"SET", "a", "1"});
  h.run({"SET", "b", "2"});
  h.run({"XADD", "s", "*", "f", "v"});
  EXPECT_EQ(h.run({"EXISTS", "a", "a", "s", "none"}).integer(), 3);
  EXPECT_EQ(h.run({"TOUCH", "a", "s", "none"}).integer(), 2);
  std::set<std::string> seen;
  for (int i = 0; i < 60; ++i) seen.insert(h.run({"RANDOMKEY"}).str());
  EXPECT_EQ(seen, (std::set<std::string>{"a", "b", "s"}));
  EXPECT_EQ(h.run({"UNLINK", "a", "s", "none"}).integer(), 2);
  EXPECT_EQ(h.run({"EXISTS", "a", "s"}).integer(), 0);
  EXPECT_EQ(h.run({"RANDOMKEY"}).str(), "b");
}

TEST(RespKeys, ObjectAndMemoryDescribeWhatAKeyHolds) {
  RespHarness h;
  h.run({"SET", "n", "12345"});
  h.run({"SET", "short", "hello"});
  h.run({"SET", "long", std::string(200, 'x')});
  h.run({"XADD", "s", "*", "f", std::string(500, 'v')});
  EXPECT_EQ(h.run({"OBJECT", "ENCODING", "n"}).str(), "int");
  EXPECT_EQ(h.run({"OBJECT", "ENCODING", "short"}).str(), "embstr");
  EXPECT_EQ(h.run({"OBJECT", "ENCODING", "long"}).str(), "raw");
  EXPECT_EQ(h.run({"OBJECT", "ENCODING", "s"}).str(), "stream");
  EXPECT_TRUE(h.run({"OBJECT", "ENCODING", "none"}).is_null());
  EXPECT_EQ(h.run({"OBJECT", "REFCOUNT", "n"}).integer(), 1);
  EXPECT_TRUE(h.run({"OBJECT", "FREQ", "n"}).is_error());
  EXPECT_TRUE(h.run({"OBJECT", "IDLETIME", "n"}).is_error());
  EXPECT_EQ(h.run({"OBJECT", "COLOUR", "n"}).str(),
            "ERR unknown subcommand 'COLOUR'. Try OBJECT HELP.");
  int64_t small = h.run({"MEMORY", "USAGE", "short"}).integer();
  int64_t big = h.run({"MEMORY", "USAGE", "long"}).integer();
  EXPECT_GE(small, 5 + 5);
  EXPECT_EQ(big - small, (200 + 4) - (5 + 5));  // the values and keys differ by so much
  EXPECT_GE(h.run({"MEMORY", "USAGE", "s", "SAMPLES", "0"}).integer(), 500);
  EXPECT_TRUE(h.run({"MEMORY", "USAGE", "none"}).is_null());
  EXPECT_EQ(h.run({"MEMORY", "USAGE", "n", "SAMPLE", "5"}).str(), "ERR syntax error");
  auto stats = h.run({"MEMORY", "STATS"});
  ASSERT_EQ(stats.size(), 8u);
  EXPECT_EQ(stats[2].str(), "keys.count");
  EXPECT_EQ(stats[3].integer(), 4);
  EXPECT_EQ(h.run({"MEMORY", "PURGE"}).str(), "OK");
}

TEST(RespKeys, RenameAndCopyMoveStringsAndRefuseToMoveStreams) {
  RespHarness h;
  h.run({"SET", "a", "1"});
  EXPECT_EQ(h.run({"RENAME", "a", "b"}).str(), "OK");
  EXPECT_EQ(h.run({"EXISTS", "a"}).integer(), 0);
  EXPECT_EQ(h.run({"GET", "b"}).str(), "1");
  EXPECT_EQ(h.run({"RENAME", "nothing", "x"}).str(), "ERR no such key");
  EXPECT_EQ(h.run({"RENAME", "b", "b"}).str(), "OK");
  h.run({"SET", "c", "3"});
  EXPECT_EQ(h.run({"RENAMENX", "b", "c"}).integer(), 0);
  EXPECT_EQ(h.run({"GET", "b"}).str(), "1");
  EXPECT_EQ(h.run({"RENAME", "b", "c"}).str(), "OK");  // RENAME replaces
  EXPECT_EQ(h.run({"GET", "c"}).str(), "1");
  EXPECT_EQ(h.run({"RENAMENX", "c", "d"}).integer(), 1);

  EXPECT_EQ(h.run({"COPY", "d", "e"}).integer(), 1);
  EXPECT_EQ(h.run({"GET", "d"}).str(), "1");
  EXPECT_EQ(h.run({"GET", "e"}).str(), "1");
  h.run({"SET", "d", "2"});
  EXPECT_EQ(h.run({"COPY", "d", "e"}).integer(), 0);
  EXPECT_EQ(h.run({"COPY", "d", "e", "REPLACE"}).integer(), 1);
  EXPECT_EQ(h.run({"GET", "e"}).str(), "2");
  EXPECT_EQ(h.run({"COPY", "d", "d"}).str(), "ERR source and destination objects are the same");
  EXPECT_EQ(h.run({"COPY", "d", "f", "DB", "0"}).integer(), 1);
  EXPECT_EQ(h.run({"COPY", "d", "g", "DB", "16"}).str(), "ERR DB index is out of range");
  EXPECT_EQ(h.run({"COPY", "d", "g", "SIDEWAYS"}).str(), "ERR syntax error");

  h.run({"XADD", "s", "*", "f", "v"});
  std::string stays = h.run({"RENAME", "s", "t"}).str();
  EXPECT_EQ(stays.rfind("ERR redcar cannot rename, copy or move a stream", 0), 0u) << stays;
  EXPECT_TRUE(h.run({"COPY", "s", "t"}).is_error());
  EXPECT_TRUE(h.run({"RENAME", "d", "s"}).is_error());  // would replace the stream
  EXPECT_EQ(h.run({"RENAMENX", "d", "s"}).integer(), 0);
  EXPECT_EQ(h.run({"XLEN", "s"}).integer(), 1);
  EXPECT_EQ(h.run({"GET", "d"}).str(), "2");
  // What moved is in the log.
  h.reopen_cold();
  EXPECT_EQ(h.run({"GET", "e"}).str(), "2");
  EXPECT_EQ(h.run({"EXISTS", "a", "b"}).integer(), 0);
}

TEST(RespKeys, ListsSetsAndSortedSetsSayTheyAreNotKept) {
  RespHarness h;
  EXPECT_EQ(h.run({"LPUSH", "l", "a"}).str(), "ERR LPUSH is not supported by redcar: it keeps strings, hashes and streams, not lists");
  EXPECT_EQ(h.run({"sadd", "s", "a"}).str(), "ERR SADD is not supported by redcar: it keeps strings, hashes and streams, not sets");
  EXPECT_EQ(h.run({"ZRANGE", "z", "0", "-1"}).str(),
            "ERR ZRANGE is not supported by redcar: it keeps strings, hashes and streams, not sorted sets");
  EXPECT_EQ(h.run({"BLPOP", "l", "0"}).str(), "ERR BLPOP is not supported by redcar: it keeps strings, hashes and streams, not lists");
  EXPECT_EQ(h.run({"BZPOPMIN", "z", "0"}).str(),
            "ERR BZPOPMIN is not supported by redcar: it keeps strings, hashes and streams, not sorted sets");
  EXPECT_EQ(h.run({"EXISTS", "l", "s", "z"}).integer(), 0);
}

// SET and MSET replace what a key holds, as in Redis: a stream's name
// becomes a string's, once; SET's NX and GET treat the stream as a key that
// exists, of another type.
TEST(RespKeys, SetAndMsetReplaceAStream) {
  RespHarness h;
  const char* wrong = "WRONGTYPE Operation against a key holding the wrong kind of value";
  for (const char* s : {"s1", "s2", "s3", "s4"}) h.run({"XADD", s, "1-1", "f", "v"});
  EXPECT_EQ(h.run({"SET", "s1", "one"}).str(), "OK");
  EXPECT_EQ(h.run({"TYPE", "s1"}).str(), "string");
  EXPECT_EQ(h.run({"GET", "s1"}).str(), "one");
  EXPECT_EQ(h.run({"XLEN", "s1"}).str(), wrong);
  EXPECT_TRUE(h.run({"SET", "s2", "two", "NX"}).is_null());
  EXPECT_EQ(h.run({"SET", "s2", "two", "GET"}).str(), wrong);
  EXPECT_EQ(h.run({"TYPE", "s2"}).str(), "stream");
  EXPECT_EQ(h.run({"SET", "s2", "two", "XX", "EX", "100"}).str(), "OK");
  EXPECT_EQ(h.run({"TYPE", "s2"}).str(), "string");
  EXPECT_EQ(h.run({"TTL", "s2"}).integer(), 100);
  EXPECT_TRUE(h.run({"SET", "absent", "x", "XX"}).is_null());
  EXPECT_TRUE(h.run({"SET", "fresh", "x", "GET"}).is_null());
  EXPECT_EQ(h.run({"SET", "fresh", "y", "NX", "GET"}).str(), "x");
  EXPECT_EQ(h.run({"MSET", "s3", "3", "s4", "4", "plain", "p"}).str(), "OK");
  EXPECT_EQ(h.run({"MGET", "s3", "s4", "plain"}).size(), 3u);
  EXPECT_EQ(h.run({"TYPE", "s4"}).str(), "string");
  EXPECT_EQ(h.run({"DBSIZE"}).integer(), 6) << "s1..s4, absent (none), fresh, plain";
  EXPECT_EQ(h.run({"MSET", "s3", "33", "plain", "pp"}).str(), "OK");
  EXPECT_EQ(h.run({"GET", "s3"}).str(), "33");
  h.reopen_cold();
  EXPECT_EQ(h.run({"DBSIZE"}).integer(), 6);
  EXPECT_EQ(h.run({"TYPE", "s1"}).str(), "string");
}

TEST(RespKeys, FlushallEmptiesEveryShardAndStaysEmpty) {
  RespHarness h;
  h.run({"MSET", "a", "1", "b", "2"});
  for (const char* s : {"s1", "s2", "s3", "s4"}) h.run({"XADD", s, "1-1", "f", "v"});
  EXPECT_EQ(h.run({"DBSIZE"}).integer(), 6);
  EXPECT_EQ(h.run({"FLUSHALL"}).str(), "OK");
  EXPECT_EQ(h.run({"DBSIZE"}).integer(), 0);
  EXPECT_TRUE(h.run({"GET", "a"}).is_null());
  EXPECT_EQ(h.run({"XLEN", "s3"}).integer(), 0);
  h.run({"SET", "c", "3"});
  EXPECT_EQ(h.run({"FLUSHDB", "ASYNC"}).str(), "OK");
  EXPECT_EQ(h.run({"FLUSHALL", "SYNC"}).str(), "OK");
  EXPECT_EQ(h.run({"FLUSHALL", "LATER"}).str(), "ERR syntax error");
  // Inside EXEC, within its transaction.
  h.run({"SET", "d", "4"});
  h.run({"XADD", "s1", "2-1", "f", "v"});
  h.run({"MULTI"});
  h.run({"FLUSHALL"});
  h.run({"SET", "after", "1"});
  RespValue v = h.run({"EXEC"});
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].str(), "OK");
  EXPECT_EQ(h.run({"DBSIZE"}).integer(), 1);
  h.reopen_cold();
  EXPECT_EQ(h.run({"DBSIZE"}).integer(), 1);
  EXPECT_EQ(h.run({"GET", "after"}).str(), "1");
  // A stream deleted by FLUSHALL starts again from nothing.
  EXPECT_EQ(h.run({"XADD", "s1", "1-1", "f", "v"}).str(), "1-1");
}

TEST(RespKeys, ShutdownWithoutAProgramToStopIsRefused) {
  RespHarness h;
  EXPECT_EQ(h.run({"SHUTDOWN"}).str(), "ERR Errors trying to SHUTDOWN. Check logs.");
  EXPECT_EQ(h.run({"SHUTDOWN", "ABORT"}).str(), "ERR No shutdown in progress.");
  EXPECT_EQ(h.run({"SHUTDOWN", "MAYBE"}).str(), "ERR syntax error");
  bool asked = false;
  h.state().shutdown = [&asked] { asked = true; };
  auto c = h.client();
  uint64_t slot = h.send(c, {"SHUTDOWN", "NOSAVE", "NOW"});
  EXPECT_EQ(h.wait_raw(c, slot), "") << "no answer: the connection closes";
  EXPECT_TRUE(asked);
}

}  // namespace
}  // namespace redcar::test
