// Databases in process (resp_harness.h): SELECT and its errors; keys of
// each type kept apart by database, for every key command; MOVE, COPY ...
// DB, SWAPDB, FLUSHDB and FLUSHALL; DBSIZE and INFO keyspace per database;
// XREAD naming streams as the client does; EXEC across SELECT; the etcd
// view seeing database 0 only; everything after a cold reopen.
#include <gtest/gtest.h>

#include "tests/unit/resp_harness.h"

namespace redcar::test {
namespace {

TEST(RespDatabase, SelectKeepsKeysApart) {
  RespHarness h;
  EXPECT_EQ(h.run({"SELECT", "16"}).str(), "ERR DB index is out of range");
  EXPECT_EQ(h.run({"SELECT", "-1"}).str(), "ERR DB index is out of range");
  EXPECT_EQ(h.run({"SELECT", "x"}).str(), "ERR value is not an integer or out of range");
  h.run({"SET", "k", "zero"});
  h.run({"HSET", "h", "f", "zero"});
  h.run({"XADD", "s", "1-1", "f", "zero"});
  EXPECT_EQ(h.run({"SELECT", "1"}).str(), "OK");
  EXPECT_TRUE(h.run({"GET", "k"}).is_null());
  EXPECT_EQ(num(h.run({"EXISTS", "k", "h", "s"})), 0);
  EXPECT_EQ(num(h.run({"DBSIZE"})), 0);
  EXPECT_EQ(h.run({"KEYS", "*"}).size(), 0u);
  h.run({"SET", "k", "one"});
  h.run({"HSET", "h", "f", "one"});
  EXPECT_EQ(h.run({"XADD", "s", "2-1", "f", "one"}).str(), "2-1");
  EXPECT_EQ(h.run({"GET", "k"}).str(), "one");
  EXPECT_EQ(num(h.run({"INCR", "n"})), 1);
  EXPECT_EQ(num(h.run({"XLEN", "s"})), 1);
  EXPECT_EQ(strings(h.run({"KEYS", "*"})), (std::vector<std::string>{"h", "k", "n", "s"}));
  EXPECT_EQ(strings(h.run({"SCAN", "0", "TYPE", "stream"})[1]), (std::vector<std::string>{"s"}));
  EXPECT_EQ(num(h.run({"DBSIZE"})), 4);
  // XREAD names the stream as the client does.
  auto read = h.run({"XREAD", "STREAMS", "s", "0"});
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0][0].str(), "s");
  EXPECT_EQ(h.run({"XGROUP", "CREATE", "s", "g", "0"}).str(), "OK");
  auto group = h.run({"XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"});
  ASSERT_EQ(group.size(), 1u);
  EXPECT_EQ(group[0][0].str(), "s");
  EXPECT_EQ(h.run({"EXPIRE", "k", "100"}).integer(), 1);
  // Subcommands that name a key find this database's; the others' words
  // are not keys, and shard channels belong to no database.
  EXPECT_GT(num(h.run({"MEMORY", "USAGE", "k"})), 0);
  EXPECT_NE(h.run({"DEBUG", "OBJECT", "k"}).str().find("encoding:embstr"), std::string::npos);
  EXPECT_EQ(h.run({"OBJECT", "ENCODING", "h"}).str(), "listpack");
  EXPECT_EQ(h.run({"DEBUG", "SLEEP", "0"}).str(), "OK");
  auto sub = h.client();
  h.run(sub, {"SSUBSCRIBE", "orders"});
  EXPECT_EQ(num(h.run({"SPUBLISH", "orders", "in db 1"})), 1);
  EXPECT_EQ(h.run({"SELECT", "0"}).str(), "OK");
  EXPECT_EQ(h.run({"GET", "k"}).str(), "zero");
  EXPECT_EQ(num(h.run({"TTL", "k"})), -1);
  EXPECT_EQ(num(h.run({"XLEN", "s"})), 1);
  EXPECT_EQ(strings(h.run({"KEYS", "*"})), (std::vector<std::string>{"h", "k", "s"}));
  std::string info = h.run({"INFO", "keyspace"}).str();
  EXPECT_NE(info.find("db0:keys=3,expires=0,"), std::string::npos) << info;
  EXPECT_NE(info.find("db1:keys=4,expires=1,"), std::string::npos) << info;
  // Another client starts in database 0; CLIENT LIST says where each is.
  auto other = h.client();
  EXPECT_EQ(h.run(other, {"GET", "k"}).str(), "zero");
  h.run(other, {"SELECT", "1"});
  EXPECT_NE(h.run(other, {"CLIENT", "INFO"}).str().find(" db=1 "), std::string::npos);
  EXPECT_EQ(h.run({"CONFIG", "GET", "databases"})[1].str(), "16");
  // A key that would read as another database's is not database 0's.
  EXPECT_EQ(h.run({"SET", std::string("\0\1k", 3), "x"}).str().substr(0, 20), "ERR redcar keeps the");
  EXPECT_EQ(h.run({"RESET"}).str(), "RESET");
  EXPECT_EQ(h.run({"GET", "k"}).str(), "zero") << "RESET selects database 0";
}

TEST(RespDatabase, MoveCopyAndSwapdb) {
  RespHarness h;
  h.run({"SET", "a", "1"});
  h.run({"HSET", "h", "f", "v"});
  h.run({"PEXPIRE", "h", "100000"});
  EXPECT_EQ(num(h.run({"MOVE", "a", "2"})), 1);
  EXPECT_EQ(num(h.run({"MOVE", "a", "2"})), 0) << "gone from here";
  EXPECT_EQ(num(h.run({"MOVE", "h", "2"})), 1);
  EXPECT_EQ(h.run({"MOVE", "x", "0"}).str(), "ERR source and destination objects are the same");
  EXPECT_EQ(h.run({"MOVE", "x", "99"}).str(), "ERR DB index is out of range");
  h.run({"SET", "b", "here"});
  h.run({"SELECT", "2"});
  EXPECT_EQ(h.run({"GET", "a"}).str(), "1");
  EXPECT_EQ(h.run({"HGET", "h", "f"}).str(), "v");
  EXPECT_GT(num(h.run({"PTTL", "h"})), 90'000) << "a key keeps its deadline where it goes";
  h.run({"SET", "b", "there"});
  EXPECT_EQ(num(h.run({"MOVE", "b", "0"})), 0) << "taken there";
  EXPECT_EQ(h.run({"GET", "b"}).str(), "there");
  EXPECT_EQ(num(h.run({"COPY", "a", "a", "DB", "3"})), 1);
  h.run({"XADD", "st", "*", "f", "v"});
  EXPECT_EQ(h.run({"MOVE", "st", "0"}).str().substr(0, 33), "ERR redcar cannot rename, copy or");
  h.run({"DEL", "st"});
  // SWAPDB: each database's keys become the other's, etcd's included.
  EXPECT_EQ(h.run({"SWAPDB", "0", "2"}).str(), "OK");
  EXPECT_EQ(strings(h.run({"KEYS", "*"})), (std::vector<std::string>{"b"}));
  EXPECT_EQ(h.run({"GET", "b"}).str(), "here");
  h.run({"SELECT", "0"});
  EXPECT_EQ(strings(h.run({"KEYS", "*"})), (std::vector<std::string>{"a", "b", "h"}));
  EXPECT_EQ(h.run({"GET", "b"}).str(), "there");
  EXPECT_EQ(h.run({"HGET", "h", "f"}).str(), "v");
  RangeRequest all;
  all.key = std::string(1, '\0');
  all.range_end = std::string(1, '\0');
  auto kv = call<RangeResult>([&](auto cb) { h.engine().kv_range(all, cb); });
  ASSERT_TRUE(kv);
  ASSERT_EQ(kv->kvs.size(), 2u) << "etcd sees database 0's strings";
  EXPECT_EQ(kv->kvs[0].key, "a");
  EXPECT_EQ(kv->kvs[1].value, "there");
  auto into_db1 = call<TxnResult>([&](auto cb) { h.engine().kv_put(std::string("\0\1b", 3), "etcd", false, cb); });
  EXPECT_FALSE(into_db1) << "etcd does not write other databases' keys";
  EXPECT_EQ(h.run({"SWAPDB", "x", "1"}).str(), "ERR invalid first DB index");
  EXPECT_EQ(h.run({"SWAPDB", "1", "x"}).str(), "ERR invalid second DB index");
  EXPECT_EQ(h.run({"SWAPDB", "1", "16"}).str(), "ERR DB index is out of range");
  h.run({"XADD", "st", "*", "f", "v"});
  EXPECT_EQ(h.run({"SWAPDB", "0", "1"}).str().substr(0, 33), "ERR redcar cannot swap databases ");
}

TEST(RespDatabase, FlushdbEmptiesOneFlushallEvery) {
  RespHarness h;
  for (const char* db : {"0", "1", "5"}) {
    h.run({"SELECT", db});
    h.run({"SET", "k", db});
    h.run({"HSET", "h", "f", db});
    h.run({"XADD", "s", "*", "f", db});
  }
  h.run({"SELECT", "1"});
  EXPECT_EQ(h.run({"FLUSHDB"}).str(), "OK");
  EXPECT_EQ(num(h.run({"DBSIZE"})), 0);
  h.run({"SELECT", "0"});
  EXPECT_EQ(num(h.run({"DBSIZE"})), 3);
  EXPECT_EQ(h.run({"FLUSHDB", "ASYNC"}).str(), "OK");
  EXPECT_EQ(num(h.run({"DBSIZE"})), 0);
  h.run({"SELECT", "5"});
  EXPECT_EQ(num(h.run({"DBSIZE"})), 3);
  EXPECT_EQ(h.run({"FLUSHALL", "SYNC"}).str(), "OK");
  EXPECT_EQ(num(h.run({"DBSIZE"})), 0);
  EXPECT_EQ(h.run({"INFO", "keyspace"}).str(), "# Keyspace\r\n");
}

// SELECT inside MULTI changes the database of the commands after it, as in
// Redis; WATCH watches the key of the database it was given in.
TEST(RespDatabase, TransactionsFollowSelect) {
  RespHarness h;
  h.run({"MULTI"});
  h.run({"SET", "k", "zero"});
  h.run({"SELECT", "3"});
  h.run({"SET", "k", "three"});
  auto exec = h.run({"EXEC"});
  ASSERT_EQ(exec.size(), 3u);
  EXPECT_EQ(h.run({"GET", "k"}).str(), "three") << "the client stays in database 3";
  h.run({"SELECT", "0"});
  EXPECT_EQ(h.run({"GET", "k"}).str(), "zero");
  h.run({"SELECT", "3"});
  h.run({"WATCH", "k"});
  auto other = h.client();
  h.run(other, {"SET", "k", "changed in 0"});
  h.run({"MULTI"});
  h.run({"SET", "k", "mine"});
  EXPECT_EQ(h.run({"EXEC"}).size(), 1u) << "a write to database 0's k is not this k's";
  h.run({"WATCH", "k"});
  h.run(other, {"SELECT", "3"});
  h.run(other, {"SET", "k", "theirs"});
  h.run({"MULTI"});
  h.run({"SET", "k", "mine again"});
  EXPECT_TRUE(h.run({"EXEC"}).is_null());
  EXPECT_EQ(h.run({"GET", "k"}).str(), "theirs");
}

TEST(RespDatabase, DatabasesSurviveAColdReopen) {
  RespHarness h;
  h.run({"SELECT", "7"});
  h.run({"SET", "k", "seven"});
  h.run({"HSET", "h", "f", "seven"});
  h.run({"XADD", "s", "1-1", "f", "seven"});
  h.run({"EXPIRE", "k", "1000"});
  h.reopen_cold();
  EXPECT_EQ(h.run({"GET", "k"}).str(), "seven") << "the client is still in database 7";
  EXPECT_EQ(h.run({"HGET", "h", "f"}).str(), "seven");
  EXPECT_EQ(num(h.run({"XLEN", "s"})), 1);
  EXPECT_GT(num(h.run({"TTL", "k"})), 990);
  h.run({"SELECT", "0"});
  EXPECT_EQ(num(h.run({"DBSIZE"})), 0);
}

}  // namespace
}  // namespace redcar::test
