// Hashes in process (resp_harness.h): every hash command and its errors as
// Redis 7.0 words them; WRONGTYPE between hashes, strings and streams both
// ways; the key commands (TYPE, EXISTS, DEL, KEYS, SCAN TYPE, RENAME, COPY,
// OBJECT ENCODING, EXPIRE) on hashes; SET replacing a hash; the etcd view
// not seeing them; hashes and their deadlines after a cold reopen.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <set>
#include <thread>

#include "tests/unit/resp_harness.h"

namespace redcar::test {
namespace {

const char* kWrongType = "WRONGTYPE Operation against a key holding the wrong kind of value";

TEST(RespHash, SetGetAndTheReadCommands) {
  RespHarness h;
  EXPECT_EQ(num(h.run({"HSET", "h", "a", "1", "b", "2"})), 2);
  EXPECT_EQ(num(h.run({"HSET", "h", "b", "3", "c", "4"})), 1) << "b existed";
  EXPECT_EQ(h.run({"HGET", "h", "b"}).str(), "3");
  EXPECT_TRUE(h.run({"HGET", "h", "z"}).is_null());
  EXPECT_TRUE(h.run({"HGET", "none", "a"}).is_null());
  EXPECT_EQ(num(h.run({"HLEN", "h"})), 3);
  EXPECT_EQ(num(h.run({"HLEN", "none"})), 0);
  EXPECT_EQ(strings(h.run({"HGETALL", "h"})), (std::vector<std::string>{"a", "1", "b", "3", "c", "4"}));
  EXPECT_EQ(h.run({"HGETALL", "none"}).size(), 0u);
  EXPECT_EQ(strings(h.run({"HKEYS", "h"})), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(strings(h.run({"HVALS", "h"})), (std::vector<std::string>{"1", "3", "4"}));
  auto m = h.run({"HMGET", "h", "a", "z", "c"});
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].str(), "1");
  EXPECT_TRUE(m[1].is_null());
  EXPECT_EQ(m[2].str(), "4");
  EXPECT_EQ(num(h.run({"HEXISTS", "h", "a"})), 1);
  EXPECT_EQ(num(h.run({"HEXISTS", "h", "z"})), 0);
  EXPECT_EQ(num(h.run({"HSTRLEN", "h", "c"})), 1);
  EXPECT_EQ(num(h.run({"HSTRLEN", "h", "z"})), 0);
  EXPECT_EQ(h.run({"HMSET", "h", "d", "5"}).str(), "OK");
  EXPECT_EQ(num(h.run({"HSETNX", "h", "d", "6"})), 0);
  EXPECT_EQ(num(h.run({"HSETNX", "h", "e", "7"})), 1);
  EXPECT_EQ(h.run({"HGET", "h", "d"}).str(), "5");
  // HDEL: what was there; the last one deletes the key.
  EXPECT_EQ(num(h.run({"HDEL", "h", "a", "z", "b"})), 2);
  EXPECT_EQ(num(h.run({"HDEL", "none", "a"})), 0);
  EXPECT_EQ(num(h.run({"HDEL", "h", "c", "d", "e"})), 3);
  EXPECT_EQ(num(h.run({"EXISTS", "h"})), 0);
  EXPECT_EQ(h.run({"TYPE", "h"}).str(), "none");
  // Arity, as Redis words it.
  EXPECT_EQ(h.run({"HSET", "h", "a"}).str(), "ERR wrong number of arguments for 'hset' command");
  EXPECT_EQ(h.run({"HSET", "h", "a", "1", "b"}).str(), "ERR wrong number of arguments for 'hset' command");
  EXPECT_EQ(h.run({"HMSET", "h", "a", "1", "b"}).str(), "ERR wrong number of arguments for 'hmset' command");
  EXPECT_EQ(h.run({"HGET", "h"}).str(), "ERR wrong number of arguments for 'hget' command");
  EXPECT_EQ(num(h.run({"EXISTS", "h"})), 0) << "refused writes create nothing";
}

TEST(RespHash, CountersAndTheirErrors) {
  RespHarness h;
  EXPECT_EQ(num(h.run({"HINCRBY", "h", "n", "5"})), 5);
  EXPECT_EQ(num(h.run({"HINCRBY", "h", "n", "-7"})), -2);
  EXPECT_EQ(h.run({"HGET", "h", "n"}).str(), "-2");
  EXPECT_EQ(h.run({"HINCRBY", "h", "n", "x"}).str(), "ERR value is not an integer or out of range");
  EXPECT_EQ(num(h.run({"HSET", "h", "s", "abc", "big", "9223372036854775807"})), 2);
  EXPECT_EQ(h.run({"HINCRBY", "h", "s", "1"}).str(), "ERR hash value is not an integer");
  EXPECT_EQ(h.run({"HINCRBY", "h", "big", "1"}).str(), "ERR increment or decrement would overflow");
  EXPECT_EQ(h.run({"HINCRBYFLOAT", "h", "f", "10.5"}).str(), "10.5");
  EXPECT_EQ(h.run({"HINCRBYFLOAT", "h", "f", "0.1"}).str(), "10.6");
  EXPECT_EQ(h.run({"HINCRBYFLOAT", "h", "n", "1.5"}).str(), "-0.5");
  EXPECT_EQ(h.run({"HINCRBYFLOAT", "h", "s", "1"}).str(), "ERR hash value is not a float");
  EXPECT_EQ(h.run({"HINCRBYFLOAT", "h", "f", "x"}).str(), "ERR value is not a valid float");
  EXPECT_EQ(num(h.run({"HSET", "h", "huge", "1e4932"})), 1);
  EXPECT_EQ(h.run({"HINCRBYFLOAT", "h", "huge", "1e4932"}).str(), "ERR increment would produce NaN or Infinity");
  EXPECT_EQ(h.run({"HGET", "h", "f"}).str(), "10.6");
}

TEST(RespHash, RandfieldAndScan) {
  RespHarness h;
  EXPECT_TRUE(h.run({"HRANDFIELD", "none"}).is_null());
  EXPECT_EQ(h.run({"HRANDFIELD", "none", "3"}).size(), 0u);
  h.run({"HSET", "h", "a", "1", "b", "2", "c", "3"});
  const std::set<std::string> fields{"a", "b", "c"};
  EXPECT_TRUE(fields.count(h.run({"HRANDFIELD", "h"}).str()));
  auto two = strings(h.run({"HRANDFIELD", "h", "2"}));
  ASSERT_EQ(two.size(), 2u);
  EXPECT_NE(two[0], two[1]) << "a positive count picks distinct fields";
  EXPECT_EQ(h.run({"HRANDFIELD", "h", "10"}).size(), 3u);
  EXPECT_EQ(h.run({"HRANDFIELD", "h", "-7"}).size(), 7u) << "a negative count may repeat";
  auto wv = strings(h.run({"HRANDFIELD", "h", "-2", "WITHVALUES"}));
  ASSERT_EQ(wv.size(), 4u);
  EXPECT_EQ(wv[1], std::string(1, static_cast<char>('1' + (wv[0][0] - 'a'))));
  EXPECT_EQ(h.run({"HRANDFIELD", "h", "0"}).size(), 0u);
  EXPECT_EQ(h.run({"HRANDFIELD", "h", "1", "WITHSCORES"}).str(), "ERR syntax error");
  EXPECT_EQ(h.run({"HRANDFIELD", "h", "x"}).str(), "ERR value is not an integer or out of range");
  EXPECT_EQ(h.run({"HRANDFIELD", "h", "-100000000000"}).str(), "ERR value is out of range");
  EXPECT_EQ(h.run({"HRANDFIELD", "h", "100000000000"}).size(), 3u) << "a positive count is at most the hash";
  // A small hash comes whole, cursor 0.
  auto all = h.run({"HSCAN", "h", "0"});
  EXPECT_EQ(all[0].str(), "0");
  EXPECT_EQ(all[1].size(), 6u);
  auto some = h.run({"HSCAN", "h", "0", "MATCH", "b*"});
  EXPECT_EQ(strings(some[1]), (std::vector<std::string>{"b", "2"}));
  EXPECT_EQ(h.run({"HSCAN", "none", "0"})[1].size(), 0u);
  EXPECT_EQ(h.run({"HSCAN", "h", "x"}).str(), "ERR invalid cursor");
  EXPECT_EQ(h.run({"HSCAN", "h", "0", "COUNT", "0"}).str(), "ERR syntax error");
  // A big one in pages: every field once, even with fields deleted and
  // added between the pages.
  std::vector<std::string> args{"HSET", "big"};
  for (int i = 0; i < 500; ++i) {
    args.push_back("f" + std::to_string(i));
    args.push_back(std::to_string(i));
  }
  EXPECT_EQ(num(h.run(args)), 500);
  EXPECT_EQ(h.run({"OBJECT", "ENCODING", "big"}).str(), "hashtable");
  EXPECT_EQ(h.run({"OBJECT", "ENCODING", "h"}).str(), "listpack");
  std::multiset<std::string> seen;
  std::string cursor = "0";
  int pages = 0;
  do {
    auto page = h.run({"HSCAN", "big", cursor, "COUNT", "50"});
    cursor = page[0].str();
    for (size_t i = 0; i < page[1].size(); i += 2) seen.insert(page[1][i].str());
    if (++pages == 3) {
      h.run({"HDEL", "big", "f1", "f2", "f3"});
      h.run({"HSET", "big", "late", "x"});
    }
  } while (cursor != "0" && pages < 1000);
  EXPECT_GT(pages, 5);
  for (int i = 4; i < 500; ++i) {
    EXPECT_EQ(seen.count("f" + std::to_string(i)), 1u) << i;
  }
}

// A hash, a string and a stream are three kinds of one key space.
TEST(RespHash, WrongTypeBothWaysAndTheKeyCommands) {
  RespHarness h;
  h.run({"HSET", "h", "a", "1"});
  h.run({"SET", "s", "x"});
  h.run({"XADD", "x", "1-1", "f", "v"});
  for (const char* key : {"s", "x"}) {
    EXPECT_EQ(h.run({"HSET", key, "a", "1"}).str(), kWrongType) << key;
    EXPECT_EQ(h.run({"HGET", key, "a"}).str(), kWrongType) << key;
    EXPECT_EQ(h.run({"HGETALL", key}).str(), kWrongType) << key;
    EXPECT_EQ(h.run({"HDEL", key, "a"}).str(), kWrongType) << key;
    EXPECT_EQ(h.run({"HINCRBY", key, "a", "1"}).str(), kWrongType) << key;
    EXPECT_EQ(h.run({"HLEN", key}).str(), kWrongType) << key;
  }
  EXPECT_EQ(h.run({"GET", "h"}).str(), kWrongType);
  EXPECT_EQ(h.run({"INCR", "h"}).str(), kWrongType);
  EXPECT_EQ(h.run({"APPEND", "h", "x"}).str(), kWrongType);
  EXPECT_EQ(h.run({"STRLEN", "h"}).str(), kWrongType);
  EXPECT_EQ(h.run({"GETDEL", "h"}).str(), kWrongType);
  auto setnx = h.run({"SETNX", "h", "v"});
  EXPECT_EQ(setnx.type, RespValue::Type::kInteger) << setnx.str();
  EXPECT_EQ(setnx.integer(), 0);
  EXPECT_EQ(h.run({"SET", "h", "v", "NX"}).is_null(), true);
  EXPECT_EQ(h.run({"SET", "h", "v", "GET"}).str(), kWrongType);
  auto msetnx = h.run({"MSETNX", "h", "v", "new", "v"});
  EXPECT_EQ(msetnx.type, RespValue::Type::kInteger) << msetnx.str();
  EXPECT_EQ(msetnx.integer(), 0);
  EXPECT_TRUE(h.run({"MGET", "h"})[0].is_null());
  EXPECT_EQ(h.run({"XADD", "h", "*", "f", "v"}).str(), kWrongType);
  EXPECT_EQ(h.run({"XLEN", "h"}).str(), kWrongType);
  EXPECT_EQ(h.run({"XRANGE", "h", "-", "+"}).str(), kWrongType);
  EXPECT_EQ(h.run({"HGET", "h", "a"}).str(), "1") << "none of the refusals touched the hash";
  // The key commands see it.
  EXPECT_EQ(h.run({"TYPE", "h"}).str(), "hash");
  EXPECT_EQ(h.run({"TYPE", "s"}).str(), "string");
  EXPECT_EQ(h.run({"TYPE", "x"}).str(), "stream");
  EXPECT_EQ(num(h.run({"EXISTS", "h", "s", "x", "h"})), 4);
  EXPECT_EQ(num(h.run({"DBSIZE"})), 3);
  EXPECT_EQ(strings(h.run({"KEYS", "*"})), (std::vector<std::string>{"h", "s", "x"}));
  EXPECT_EQ(strings(h.run({"SCAN", "0", "TYPE", "hash"})[1]), (std::vector<std::string>{"h"}));
  EXPECT_EQ(strings(h.run({"SCAN", "0", "TYPE", "string"})[1]), (std::vector<std::string>{"s"}));
  EXPECT_NE(h.run({"INFO", "keyspace"}).str().find("db0:keys=3,"), std::string::npos);
  // RENAME and COPY carry the hash, deadline included.
  EXPECT_EQ(num(h.run({"EXPIRE", "h", "100"})), 1);
  EXPECT_EQ(num(h.run({"COPY", "h", "h2"})), 1);
  EXPECT_EQ(h.run({"RENAME", "h", "h3"}).str(), "OK");
  EXPECT_EQ(h.run({"TYPE", "h3"}).str(), "hash");
  EXPECT_EQ(h.run({"HGET", "h2", "a"}).str(), "1");
  EXPECT_EQ(num(h.run({"TTL", "h3"})), 100);
  EXPECT_EQ(num(h.run({"HSET", "h3", "b", "2"})), 1);
  EXPECT_EQ(num(h.run({"TTL", "h3"})), 100) << "a change in place keeps the deadline";
  EXPECT_EQ(num(h.run({"PERSIST", "h3"})), 1);
  EXPECT_EQ(num(h.run({"TTL", "h3"})), -1);
  // SET replaces a hash, as it replaces any type; DEL removes one.
  EXPECT_EQ(h.run({"SET", "h2", "plain"}).str(), "OK");
  EXPECT_EQ(h.run({"GET", "h2"}).str(), "plain");
  EXPECT_EQ(h.run({"TYPE", "h2"}).str(), "string");
  EXPECT_EQ(h.run({"HSET", "h2", "a", "1"}).str(), kWrongType);
  EXPECT_EQ(num(h.run({"DEL", "h3", "s"})), 2);
  EXPECT_EQ(num(h.run({"HLEN", "h3"})), 0);
  EXPECT_EQ(h.run({"MSET", "h4", "v"}).str(), "OK");
  h.run({"HSET", "h5", "a", "1"});
  EXPECT_EQ(h.run({"MSET", "h5", "v"}).str(), "OK");
  EXPECT_EQ(h.run({"GET", "h5"}).str(), "v");
  h.run({"HSET", "h6", "a", "1"});
  EXPECT_EQ(h.run({"FLUSHALL"}).str(), "OK");
  EXPECT_EQ(num(h.run({"DBSIZE"})), 0);
}

// etcd's view is the strings: a hash is not in its ranges, compares,
// deletes or watches, and an etcd put over one replaces it as a new key.
TEST(RespHash, TheEtcdViewSeesStringsOnly) {
  RespHarness h;
  Engine& e = h.engine();
  std::mutex mu;  // the watch delivers on the key-value shard's thread
  std::vector<WatchEvent> events;
  auto watch = e.kv_watch(WatchOptions{.key = std::string(1, '\0'), .range_end = std::string(1, '\0')},
                          [&](std::vector<WatchEvent> evs, int64_t, std::function<void()> more) {
                            std::lock_guard lock(mu);
                            for (auto& ev : evs) events.push_back(std::move(ev));
                            more();
                          },
                          [](Status) {});
  auto seen = [&] {
    std::lock_guard lock(mu);
    return events.size();
  };
  h.run({"SET", "s", "1"});
  h.run({"HSET", "h", "a", "1"});
  h.run({"HSET", "h", "b", "2"});
  h.run({"DEL", "h"});
  h.run({"HSET", "h2", "a", "1"});
  RangeRequest all;
  all.key = std::string(1, '\0');
  all.range_end = std::string(1, '\0');
  auto r = call<RangeResult>([&](auto cb) { e.kv_range(all, cb); });
  ASSERT_TRUE(r);
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].key, "s");
  // An etcd delete of everything leaves the hash; a compare finds nothing.
  TxnRequest t;
  KvCompare c;
  c.target = KvCompare::Target::kVersion;
  c.op = KvCompare::Op::kEqual;
  c.key = "h2";
  c.number = 0;
  t.compare.push_back(c);
  KvOp del;
  del.kind = KvOp::Kind::kDelete;
  del.range = all;
  t.success.push_back(del);
  auto res = call<TxnResult>([&](auto cb) { e.kv_txn(t, cb); });
  ASSERT_TRUE(res);
  EXPECT_TRUE(res->succeeded) << "h2 has no string version";
  EXPECT_EQ(res->results[0].deleted, 1);
  EXPECT_EQ(h.run({"HGET", "h2", "a"}).str(), "1");
  // A put over the hash: a new key to etcd (version 1), a string to Redis.
  auto put = call<TxnResult>([&](auto cb) { e.kv_put("h2", "etcd", false, cb); });
  ASSERT_TRUE(put);
  r = call<RangeResult>([&](auto cb) { e.kv_range(all, cb); });
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].version, 1);
  EXPECT_EQ(r->kvs[0].create_revision, r->kvs[0].mod_revision);
  EXPECT_EQ(h.run({"GET", "h2"}).str(), "etcd");
  // Watchers saw s put, s deleted, h2 put: nothing of the hashes.
  for (int i = 0; i < 400 && seen() < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  watch->cancel();
  std::lock_guard lock(mu);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].kv.key, "s");
  EXPECT_EQ(events[1].kv.key, "s");
  EXPECT_EQ(events[1].type, WatchEvent::Type::kDelete);
  EXPECT_EQ(events[2].kv.key, "h2");
  EXPECT_FALSE(events[2].prev.has_value());
}

TEST(RespHash, HashesAndDeadlinesSurviveAColdReopen) {
  RespHarness h;
  h.run({"HSET", "h", "a", "1", "b", "2"});
  h.run({"HINCRBY", "h", "n", "41"});
  h.run({"HSET", "t", "x", "y"});
  h.run({"PEXPIRE", "t", "1000000"});
  const int64_t at = num(h.run({"PEXPIRETIME", "t"}));
  h.reopen_cold();
  EXPECT_EQ(strings(h.run({"HGETALL", "h"})), (std::vector<std::string>{"a", "1", "b", "2", "n", "41"}));
  EXPECT_EQ(num(h.run({"HINCRBY", "h", "n", "1"})), 42);
  EXPECT_EQ(num(h.run({"PEXPIRETIME", "t"})), at);
  EXPECT_EQ(h.run({"TYPE", "t"}).str(), "hash");
  EXPECT_EQ(h.run({"GET", "h"}).str(), kWrongType);
}

TEST(RespHash, Resp3AnswersAMapAndPairs) {
  RespHarness h;
  h.run({"HELLO", "3"});
  h.run({"HSET", "h", "a", "1"});
  auto m = h.run({"HGETALL", "h"});
  EXPECT_EQ(m.type, RespValue::Type::kMap);
  EXPECT_EQ(strings(m), (std::vector<std::string>{"a", "1"}));
  auto pairs = h.run({"HRANDFIELD", "h", "1", "WITHVALUES"});
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(strings(pairs[0]), (std::vector<std::string>{"a", "1"}));
}

}  // namespace
}  // namespace redcar::test
