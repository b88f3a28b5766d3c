// Key expiry in process (resp_harness.h): SET's and GETEX's time options,
// SETEX and PSETEX, EXPIRE and its kin with NX/XX/GT/LT, TTL and its kin,
// PERSIST; which writes keep a deadline and which drop it; every error as
// Redis 7.0 words it; deadlines after a cold reopen, and a key that expires
// gone for every command at once.
#include <gtest/gtest.h>

#include <thread>

#include "engine/common/clock.h"
#include "tests/unit/resp_harness.h"

namespace redcar::test {
namespace {

const char* kNotInteger = "ERR value is not an integer or out of range";

TEST(RespExpiry, SetOptionsAndTheTtlCommands) {
  RespHarness h;
  EXPECT_EQ(h.run({"SET", "a", "1", "EX", "100"}).str(), "OK");
  EXPECT_EQ(h.run({"TTL", "a"}).integer(), 100);
  const int64_t pttl = h.run({"PTTL", "a"}).integer();
  EXPECT_GT(pttl, 98'000);
  EXPECT_LE(pttl, 100'000);
  const int64_t at = h.run({"PEXPIRETIME", "a"}).integer();
  EXPECT_NEAR(static_cast<double>(at), static_cast<double>(now_ms() + 100'000), 2'000.0);
  EXPECT_EQ(h.run({"EXPIRETIME", "a"}).integer(), (at + 500) / 1000);
  EXPECT_EQ(h.run({"SET", "b", "2", "PX", "100000"}).str(), "OK");
  EXPECT_EQ(h.run({"TTL", "b"}).integer(), 100);
  const std::string later = std::to_string(now_ms() / 1000 + 500);
  EXPECT_EQ(h.run({"SET", "c", "3", "EXAT", later}).str(), "OK");
  EXPECT_EQ(h.run({"EXPIRETIME", "c"}).integer(), std::stoll(later));
  EXPECT_EQ(h.run({"SET", "d", "4", "PXAT", std::to_string(now_ms() + 50'000)}).str(), "OK");
  EXPECT_EQ(h.run({"TTL", "d"}).integer(), 50);
  // KEEPTTL keeps it; a plain SET drops it.
  EXPECT_EQ(h.run({"SET", "a", "5", "KEEPTTL"}).str(), "OK");
  EXPECT_EQ(h.run({"TTL", "a"}).integer(), 100);
  EXPECT_EQ(h.run({"SET", "a", "6"}).str(), "OK");
  EXPECT_EQ(h.run({"TTL", "a"}).integer(), -1);
  EXPECT_EQ(h.run({"TTL", "none"}).integer(), -2);
  EXPECT_EQ(h.run({"PTTL", "none"}).integer(), -2);
  EXPECT_EQ(h.run({"EXPIRETIME", "a"}).integer(), -1);
  // With NX and GET.
  EXPECT_TRUE(h.run({"SET", "b", "x", "NX", "EX", "5"}).is_null());
  EXPECT_EQ(h.run({"SET", "b", "y", "XX", "GET", "EX", "7"}).str(), "2");
  EXPECT_EQ(h.run({"TTL", "b"}).integer(), 7);
  // Errors, as Redis words them.
  EXPECT_EQ(h.run({"SET", "e", "1", "EX", "0"}).str(), "ERR invalid expire time in 'set' command");
  EXPECT_EQ(h.run({"SET", "e", "1", "PX", "-5"}).str(), "ERR invalid expire time in 'set' command");
  EXPECT_EQ(h.run({"SET", "e", "1", "EX", "9223372036854775807"}).str(), "ERR invalid expire time in 'set' command");
  EXPECT_EQ(h.run({"SET", "e", "1", "EX", "ten"}).str(), kNotInteger);
  EXPECT_EQ(h.run({"SET", "e", "1", "EX", "10", "PX", "10"}).str(), "ERR syntax error");
  EXPECT_EQ(h.run({"SET", "e", "1", "EX", "10", "KEEPTTL"}).str(), "ERR syntax error");
  EXPECT_EQ(h.run({"SET", "e", "1", "EX"}).str(), "ERR syntax error");
  EXPECT_EQ(h.run({"EXISTS", "e"}).integer(), 0);
  EXPECT_EQ(h.run({"TTL"}).str(), "ERR wrong number of arguments for 'ttl' command");
}

TEST(RespExpiry, SetexPsetexAndGetex) {
  RespHarness h;
  EXPECT_EQ(h.run({"SETEX", "k", "60", "v"}).str(), "OK");
  EXPECT_EQ(h.run({"GET", "k"}).str(), "v");
  EXPECT_EQ(h.run({"TTL", "k"}).integer(), 60);
  EXPECT_EQ(h.run({"PSETEX", "p", "60000", "w"}).str(), "OK");
  EXPECT_EQ(h.run({"TTL", "p"}).integer(), 60);
  EXPECT_EQ(h.run({"SETEX", "k", "0", "v"}).str(), "ERR invalid expire time in 'setex' command");
  EXPECT_EQ(h.run({"PSETEX", "k", "-1", "v"}).str(), "ERR invalid expire time in 'psetex' command");
  EXPECT_EQ(h.run({"SETEX", "k", "x", "v"}).str(), kNotInteger);
  EXPECT_EQ(h.run({"TTL", "k"}).integer(), 60) << "a refused SETEX changes nothing";
  EXPECT_EQ(h.run({"GETEX", "k"}).str(), "v");
  EXPECT_EQ(h.run({"TTL", "k"}).integer(), 60);
  EXPECT_EQ(h.run({"GETEX", "k", "EX", "30"}).str(), "v");
  EXPECT_EQ(h.run({"TTL", "k"}).integer(), 30);
  EXPECT_EQ(h.run({"GETEX", "k", "PERSIST"}).str(), "v");
  EXPECT_EQ(h.run({"TTL", "k"}).integer(), -1);
  EXPECT_EQ(h.run({"GETEX", "k", "PXAT", std::to_string(now_ms() + 20'000)}).str(), "v");
  EXPECT_EQ(h.run({"TTL", "k"}).integer(), 20);
  EXPECT_TRUE(h.run({"GETEX", "none", "EX", "5"}).is_null());
  EXPECT_EQ(h.run({"EXISTS", "none"}).integer(), 0);
  EXPECT_EQ(h.run({"GETEX", "k", "EX"}).str(), "ERR syntax error");
  EXPECT_EQ(h.run({"GETEX", "k", "EX", "1", "PERSIST"}).str(), "ERR syntax error");
  EXPECT_EQ(h.run({"GETEX", "k", "EX", "0"}).str(), "ERR invalid expire time in 'getex' command");
  h.run({"XADD", "s", "*", "f", "v"});
  EXPECT_EQ(h.run({"GETEX", "s", "EX", "5"}).str(), "WRONGTYPE Operation against a key holding the wrong kind of value");
}

TEST(RespExpiry, ExpireOptionsAsRedisHasThem) {
  RespHarness h;
  h.run({"SET", "k", "v"});
  EXPECT_EQ(h.run({"EXPIRE", "k", "100", "XX"}).integer(), 0);
  EXPECT_EQ(h.run({"EXPIRE", "k", "100", "GT"}).integer(), 0) << "no deadline is later than any";
  EXPECT_EQ(h.run({"EXPIRE", "k", "100", "NX"}).integer(), 1);
  EXPECT_EQ(h.run({"EXPIRE", "k", "200", "NX"}).integer(), 0);
  EXPECT_EQ(h.run({"EXPIRE", "k", "50", "GT"}).integer(), 0);
  EXPECT_EQ(h.run({"EXPIRE", "k", "200", "GT"}).integer(), 1);
  EXPECT_EQ(h.run({"EXPIRE", "k", "300", "LT"}).integer(), 0);
  EXPECT_EQ(h.run({"PEXPIRE", "k", "150000", "LT", "XX"}).integer(), 1);
  EXPECT_EQ(h.run({"TTL", "k"}).integer(), 150);
  const int64_t at = now_ms() / 1000 + 400;
  EXPECT_EQ(h.run({"EXPIREAT", "k", std::to_string(at)}).integer(), 1);
  EXPECT_EQ(h.run({"EXPIRETIME", "k"}).integer(), at);
  EXPECT_EQ(h.run({"PERSIST", "k"}).integer(), 1);
  EXPECT_EQ(h.run({"PERSIST", "k"}).integer(), 0);
  EXPECT_EQ(h.run({"EXPIRE", "k", "10", "LT"}).integer(), 1) << "any deadline is earlier than none";
  EXPECT_EQ(h.run({"EXPIRE", "missing", "10"}).integer(), 0);
  EXPECT_EQ(h.run({"PERSIST", "missing"}).integer(), 0);
  // A time in the past deletes the key.
  EXPECT_EQ(h.run({"PEXPIREAT", "k", "1"}).integer(), 1);
  EXPECT_EQ(h.run({"EXISTS", "k"}).integer(), 0);
  h.run({"SET", "n", "v"});
  EXPECT_EQ(h.run({"EXPIRE", "n", "-1"}).integer(), 1);
  EXPECT_TRUE(h.run({"GET", "n"}).is_null());
  // Errors.
  EXPECT_EQ(h.run({"EXPIRE", "k", "10", "NX", "XX"}).str(),
            "ERR NX and XX, GT or LT options at the same time are not compatible");
  EXPECT_EQ(h.run({"EXPIRE", "k", "10", "GT", "LT"}).str(), "ERR GT and LT options at the same time are not compatible");
  EXPECT_EQ(h.run({"EXPIRE", "k", "10", "SOON"}).str(), "ERR Unsupported option SOON");
  EXPECT_EQ(h.run({"EXPIRE", "k", "1.5"}).str(), kNotInteger);
  EXPECT_EQ(h.run({"EXPIRE", "k", "9223372036854775807"}).str(), "ERR invalid expire time in 'expire' command");
  EXPECT_EQ(h.run({"PEXPIRE", "k", "9223372036854775807"}).str(), "ERR invalid expire time in 'pexpire' command");
}

// A stream takes a deadline as a key does, with the same options.
TEST(RespExpiry, StreamsTakeDeadlinesWithTheSameOptions) {
  RespHarness h;
  h.run({"XADD", "s", "*", "f", "v"});
  EXPECT_EQ(h.run({"TTL", "s"}).integer(), -1);
  EXPECT_EQ(h.run({"PERSIST", "s"}).integer(), 0) << "PERSIST of a stream without one";
  EXPECT_EQ(h.run({"EXPIRE", "s", "100", "XX"}).integer(), 0);
  EXPECT_EQ(h.run({"EXPIRE", "s", "100", "GT"}).integer(), 0) << "none is later than any";
  EXPECT_EQ(h.run({"EXPIRE", "s", "100", "NX"}).integer(), 1);
  EXPECT_EQ(h.run({"TTL", "s"}).integer(), 100);
  EXPECT_EQ(h.run({"EXPIRE", "s", "200", "NX"}).integer(), 0);
  EXPECT_EQ(h.run({"EXPIRE", "s", "200", "LT"}).integer(), 0);
  EXPECT_EQ(h.run({"EXPIRE", "s", "50", "LT"}).integer(), 1);
  EXPECT_EQ(h.run({"EXPIRE", "s", "300", "XX", "GT"}).integer(), 1);
  EXPECT_EQ(h.run({"TTL", "s"}).integer(), 300);
  const std::string at = std::to_string(now_ms() + 400'000);
  EXPECT_EQ(h.run({"PEXPIREAT", "s", at}).integer(), 1);
  EXPECT_EQ(h.run({"PEXPIRETIME", "s"}).integer(), std::stoll(at));
  EXPECT_EQ(h.run({"EXPIRETIME", "s"}).integer(), (std::stoll(at) + 500) / 1000);
  // Appends, trims and groups keep it, as in Redis.
  h.run({"XADD", "s", "*", "f", "w"});
  h.run({"XTRIM", "s", "MAXLEN", "1"});
  h.run({"XGROUP", "CREATE", "s", "g", "0"});
  EXPECT_EQ(h.run({"PEXPIRETIME", "s"}).integer(), std::stoll(at));
  std::string info = h.run({"INFO", "keyspace"}).str();
  EXPECT_NE(info.find("db0:keys=1,expires=1,avg_ttl="), std::string::npos) << info;
  EXPECT_EQ(h.run({"PERSIST", "s"}).integer(), 1);
  EXPECT_EQ(h.run({"TTL", "s"}).integer(), -1);
  info = h.run({"INFO", "keyspace"}).str();
  EXPECT_NE(info.find("db0:keys=1,expires=0,avg_ttl=0"), std::string::npos) << info;
  // A deadline in the past deletes it.
  EXPECT_EQ(h.run({"EXPIRE", "s", "-1"}).integer(), 1);
  EXPECT_EQ(h.run({"EXISTS", "s"}).integer(), 0);
  EXPECT_EQ(h.run({"EXPIRE", "s", "10"}).integer(), 0);
  EXPECT_EQ(h.run({"TTL", "s"}).integer(), -2);
}

// From its deadline on a stream is gone for every command: readers see
// nothing, a write starts a new stream (numbering, IDs and groups anew,
// without the deadline), and the background delete counts it in INFO.
// Deadlines survive a cold reopen; one that passed while the server was
// down has deleted the stream by the time it answers.
TEST(RespExpiry, AnExpiredStreamIsGoneEverywhere) {
  RespHarness h;
  h.run({"XADD", "s", "5-1", "f", "v"});
  h.run({"XGROUP", "CREATE", "s", "g", "0"});
  h.run({"XADD", "keep", "*", "f", "v"});
  h.run({"EXPIRE", "keep", "1000"});
  h.run({"XADD", "down", "*", "f", "v"});
  h.run({"PEXPIRE", "s", "1000"});  // long enough for the checks below, even under ASan
  const auto set_at = std::chrono::steady_clock::now();
  EXPECT_EQ(h.run({"XLEN", "s"}).integer(), 1);
  EXPECT_EQ(h.run({"DBSIZE"}).integer(), 3);
  std::this_thread::sleep_until(set_at + std::chrono::milliseconds(1010));
  EXPECT_EQ(h.run({"XLEN", "s"}).integer(), 0);
  EXPECT_EQ(h.run({"EXISTS", "s"}).integer(), 0);
  EXPECT_EQ(h.run({"TYPE", "s"}).str(), "none");
  EXPECT_EQ(h.run({"TTL", "s"}).integer(), -2);
  EXPECT_EQ(h.run({"XRANGE", "s", "-", "+"}).size(), 0u);
  EXPECT_EQ(h.run({"XINFO", "STREAM", "s"}).str(), "ERR no such key");
  EXPECT_EQ(h.run({"XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"}).str().rfind("NOGROUP", 0), 0u);
  EXPECT_EQ(h.run({"DBSIZE"}).integer(), 2);
  EXPECT_EQ(h.run({"KEYS", "*"}).size(), 2u);
  std::string info;
  for (int i = 0; i < 500 && info.find("expired_keys:1\r\n") == std::string::npos; ++i) {
    if (i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    info = h.run({"INFO", "stats"}).str();
  }
  EXPECT_NE(info.find("expired_keys:1\r\n"), std::string::npos) << info;
  // A new stream: an ID below the old one's last is fine, groups are gone.
  EXPECT_EQ(h.run({"XADD", "s", "1-1", "f", "again"}).str(), "1-1");
  EXPECT_EQ(h.run({"XLEN", "s"}).integer(), 1);
  EXPECT_EQ(h.run({"TTL", "s"}).integer(), -1);
  EXPECT_EQ(h.run({"XINFO", "GROUPS", "s"}).size(), 0u);
  // A string may take an expired stream's name.
  h.run({"PEXPIRE", "s", "1"});
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(h.run({"SET", "s", "str"}).str(), "OK");
  EXPECT_EQ(h.run({"TYPE", "s"}).str(), "string");
  EXPECT_EQ(h.run({"XLEN", "s"}).str().rfind("WRONGTYPE", 0), 0u);
  // Across a cold reopen.
  const int64_t keep_at = h.run({"PEXPIRETIME", "keep"}).integer();
  h.run({"PEXPIRE", "down", "300"});
  std::this_thread::sleep_for(std::chrono::milliseconds(310));
  h.reopen_cold();
  EXPECT_EQ(h.run({"PEXPIRETIME", "keep"}).integer(), keep_at);
  EXPECT_EQ(h.run({"XLEN", "keep"}).integer(), 1);
  EXPECT_EQ(h.run({"EXISTS", "down"}).integer(), 0);
  EXPECT_EQ(h.run({"XADD", "down", "1-1", "f", "v"}).str(), "1-1");
}

// A change in place keeps the deadline, a new value drops it, and a key
// keeps its deadline where RENAME and COPY take it.
TEST(RespExpiry, WhichWritesKeepTheDeadline) {
  RespHarness h;
  h.run({"SET", "n", "1", "EX", "100"});
  for (std::vector<std::string> keep : std::vector<std::vector<std::string>>{
           {"INCR", "n"}, {"INCRBY", "n", "2"}, {"INCRBYFLOAT", "n", "0.5"}, {"APPEND", "n", "0"},
           {"SETRANGE", "n", "0", "7"}}) {
    h.run(keep);
    EXPECT_EQ(h.run({"TTL", "n"}).integer(), 100) << keep[0];
  }
  h.run({"RENAME", "n", "m"});
  EXPECT_EQ(h.run({"TTL", "m"}).integer(), 100);
  h.run({"COPY", "m", "c"});
  EXPECT_EQ(h.run({"TTL", "c"}).integer(), 100);
  EXPECT_EQ(h.run({"GETSET", "m", "x"}).str(), "7.50");
  EXPECT_EQ(h.run({"TTL", "m"}).integer(), -1);
  h.run({"MSET", "c", "y"});
  EXPECT_EQ(h.run({"TTL", "c"}).integer(), -1);
}

// From its deadline on, the key is gone for every command, and the
// background delete counts it in INFO; deadlines survive a cold reopen.
TEST(RespExpiry, AnExpiredKeyIsGoneEverywhereAndDeadlinesSurviveAReopen) {
  RespHarness h;
  h.run({"SET", "keep", "k", "EX", "1000"});
  h.run({"SET", "brief", "b", "PX", "1000"});  // long enough for the checks below, even under ASan
  const auto set_at = std::chrono::steady_clock::now();
  h.run({"SET", "plain", "p"});
  EXPECT_EQ(h.run({"DBSIZE"}).integer(), 3);
  std::string info = h.run({"INFO", "keyspace"}).str();
  EXPECT_NE(info.find("db0:keys=3,expires=2,avg_ttl="), std::string::npos) << info;
  // Gone at once, then deleted in the background.
  std::this_thread::sleep_until(set_at + std::chrono::milliseconds(1010));
  EXPECT_TRUE(h.run({"GET", "brief"}).is_null());
  for (int i = 0; i < 500 && info.find("expired_keys:1\r\n") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    info = h.run({"INFO", "stats"}).str();
  }
  EXPECT_NE(info.find("expired_keys:1\r\n"), std::string::npos) << info;
  EXPECT_EQ(h.run({"EXISTS", "brief"}).integer(), 0);
  EXPECT_EQ(h.run({"TYPE", "brief"}).str(), "none");
  EXPECT_EQ(h.run({"STRLEN", "brief"}).integer(), 0);
  EXPECT_EQ(h.run({"TTL", "brief"}).integer(), -2);
  EXPECT_EQ(h.run({"SETNX", "brief", "new"}).integer(), 1);
  EXPECT_EQ(h.run({"TTL", "brief"}).integer(), -1);
  EXPECT_EQ(h.run({"DEL", "brief"}).integer(), 1);
  EXPECT_EQ(h.run({"DBSIZE"}).integer(), 2);
  EXPECT_EQ(h.run({"KEYS", "*"}).size(), 2u);
  const int64_t keep_at = h.run({"PEXPIRETIME", "keep"}).integer();
  h.reopen_cold();
  EXPECT_EQ(h.run({"PEXPIRETIME", "keep"}).integer(), keep_at);
  EXPECT_EQ(h.run({"TTL", "plain"}).integer(), -1);
  EXPECT_EQ(h.run({"GET", "keep"}).str(), "k");
}

}  // namespace
}  // namespace redcar::test
