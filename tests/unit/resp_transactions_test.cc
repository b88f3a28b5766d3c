// MULTI, EXEC, DISCARD, WATCH and UNWATCH in process (resp_harness.h): the
// queue and its answers, every error Redis 7.0 gives, WATCH on strings and
// streams, what EXEC runs seeing the writes before it, blocking commands
// answering at once inside it, the queue's limit, and the hold itself:
// another client's request waits while a transaction holds the shards, and
// only the transaction's own work gets through.
#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "runtime/txn_scope.h"
#include "tests/unit/resp_harness.h"

namespace redcar::test {
namespace {

TEST(RespTransactions, ExecAnswersEachQueuedCommandInOrder) {
  RespHarness h;
  EXPECT_EQ(h.run({"MULTI"}).str(), "OK");
  EXPECT_EQ(h.run({"SET", "a", "1"}).str(), "QUEUED");
  EXPECT_EQ(h.run({"INCR", "a"}).str(), "QUEUED");
  EXPECT_EQ(h.run({"GET", "a"}).str(), "QUEUED");
  EXPECT_EQ(h.run({"XADD", "s", "5-1", "f", "v"}).str(), "QUEUED");
  EXPECT_EQ(h.run({"XLEN", "s"}).str(), "QUEUED");
  EXPECT_EQ(h.run({"INCR", "s"}).str(), "QUEUED");  // fails when run, not when queued
  EXPECT_EQ(h.run({"XRANGE", "s", "-", "+"}).str(), "QUEUED");
  RespValue v = h.run({"EXEC"});
  ASSERT_EQ(v.type, RespValue::Type::kArray);
  ASSERT_EQ(v.size(), 7u);
  EXPECT_EQ(v[0].str(), "OK");
  EXPECT_EQ(v[1].integer(), 2);
  EXPECT_EQ(v[2].str(), "2") << "a read inside EXEC sees the writes before it";
  EXPECT_EQ(v[3].str(), "5-1");
  EXPECT_EQ(v[4].integer(), 1);
  EXPECT_EQ(v[5].str(), "WRONGTYPE Operation against a key holding the wrong kind of value");
  ASSERT_EQ(v[6].size(), 1u);
  EXPECT_EQ(v[6][0][0].str(), "5-1");
  // Outside, after: the same.
  EXPECT_EQ(h.run({"GET", "a"}).str(), "2");
  EXPECT_EQ(h.run({"XLEN", "s"}).integer(), 1);
  // An empty transaction answers an empty array.
  h.run({"MULTI"});
  EXPECT_EQ(h.raw({"EXEC"}), "*0\r\n");
}

TEST(RespTransactions, LongQueueOfWritesAndReadsAnswersInOrder) {
  RespHarness h;
  h.run({"MULTI"});
  std::vector<std::string> want;
  for (int i = 1; i <= 300; ++i) {
    h.run({"INCR", "n"});
    want.push_back(":" + std::to_string(i) + "\r\n");
    if (i % 50 == 0) {
      // A read waits for the writes before it; the writes after it go on.
      h.run({"GET", "n"});
      std::string v = std::to_string(i);
      want.push_back("$" + std::to_string(v.size()) + "\r\n" + v + "\r\n");
      h.run({"XADD", "s", "*", "n", v});
      want.push_back("");  // an ID, checked below
    }
  }
  std::string raw = h.raw({"EXEC"});
  size_t pos = 0;
  RespValue v = parse_resp(raw, &pos);
  ASSERT_EQ(v.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i].empty()) {
      EXPECT_EQ(v[i].type, RespValue::Type::kBulk) << i;
      continue;
    }
    size_t p = 0;
    RespValue w = parse_resp(want[i], &p);
    EXPECT_EQ(v[i].type, w.type) << i;
    EXPECT_EQ(v[i].text, w.text) << i;
    EXPECT_EQ(v[i].number, w.number) << i;
  }
  EXPECT_EQ(h.run({"XLEN", "s"}).integer(), 6);
}

TEST(RespTransactions, ErrorsAsRedisWordsThem) {
  RespHarness h;
  EXPECT_EQ(h.run({"EXEC"}).str(), "ERR EXEC without MULTI");
  EXPECT_EQ(h.run({"DISCARD"}).str(), "ERR DISCARD without MULTI");
  h.run({"MULTI"});
  EXPECT_EQ(h.run({"MULTI"}).str(), "ERR MULTI calls can not be nested");
  EXPECT_EQ(h.run({"WATCH", "k"}).str(), "ERR WATCH inside MULTI is not allowed");
  EXPECT_EQ(h.run({"SET", "k", "v"}).str(), "QUEUED");
  // Those did not spoil the transaction.
  RespValue ok = h.run({"EXEC"});
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(h.run({"GET", "k"}).str(), "v");

  // A command refused while queued aborts EXEC, and nothing queued runs.
  for (std::vector<std::string> bad : {std::vector<std::string>{"NOSUCHCOMMAND", "x"},
                                       std::vector<std::string>{"GET"},
                                       std::vector<std::string>{"LPUSH", "l", "x"}}) {
    SCOPED_TRACE(bad[0]);
    h.run({"MULTI"});
    EXPECT_EQ(h.run({"SET", "k", "spoiled"}).str(), "QUEUED");
    EXPECT_TRUE(h.run(bad).is_error());
    EXPECT_EQ(h.run({"EXEC"}).str(), "EXECABORT Transaction discarded because of previous errors.");
    EXPECT_EQ(h.run({"GET", "k"}).str(), "v");
    EXPECT_EQ(h.run({"EXEC"}).str(), "ERR EXEC without MULTI") << "the transaction is over";
  }
}

TEST(RespTransactions, DiscardDropsTheQueueAndTheWatches) {
  RespHarness h;
  auto a = h.client(), b = h.client();
  h.run(a, {"WATCH", "w"});
  h.run(a, {"MULTI"});
  h.run(a, {"SET", "k", "never"});
  EXPECT_EQ(h.run(a, {"DISCARD"}).str(), "OK");
  EXPECT_TRUE(h.run(a, {"GET", "k"}).is_null());
  h.run(b, {"SET", "w", "changed"});
  h.run(a, {"MULTI"});
  h.run(a, {"SET", "k", "runs"});
  EXPECT_EQ(h.run(a, {"EXEC"}).size(), 1u) << "DISCARD forgot the watch";
  EXPECT_EQ(h.run(a, {"GET", "k"}).str(), "runs");
}

TEST(RespTransactions, WatchAbortsExecAfterAnotherClientsWrite) {
  RespHarness h;
  auto a = h.client(), b = h.client();
  struct Case {
    const char* what;
    std::vector<std::string> setup;   // by b, before WATCH
    std::vector<std::string> change;  // by b, after WATCH
  };
  std::vector<Case> cases = {
      {"string set", {"SET", "k1", "a"}, {"SET", "k1", "b"}},
      {"string set to the same value", {"SET", "k2", "a"}, {"SET", "k2", "a"}},
      {"string deleted", {"SET", "k3", "a"}, {"DEL", "k3"}},
      {"missing key created", {"PING"}, {"SET", "k4", "a"}},
      {"counter", {"SET", "k5", "1"}, {"INCR", "k5"}},
      {"stream appended", {"XADD", "s1", "1-1", "f", "v"}, {"XADD", "s1", "2-1", "f", "v"}},
      {"stream created", {"PING"}, {"XADD", "s2", "1-1", "f", "v"}},
      {"stream entry deleted", {"XADD", "s3", "1-1", "f", "v"}, {"XDEL", "s3", "1-1"}},
      {"stream deleted", {"XADD", "s4", "1-1", "f", "v"}, {"DEL", "s4"}},
      {"stream given a deadline", {"XADD", "s5", "1-1", "f", "v"}, {"EXPIRE", "s5", "100"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    h.run(b, c.setup);
    std::string key = c.change[1];
    EXPECT_EQ(h.run(a, {"WATCH", key}).str(), "OK");
    h.run(b, c.change);
    h.run(a, {"MULTI"});
    h.run(a, {"SET", "marker", c.what});
    RespValue v = h.run(a, {"EXEC"});
    EXPECT_TRUE(v.is_null()) << "EXEC ran";
    EXPECT_NE(h.run(a, {"GET", "marker"}).str(), c.what);
  }
  // Unchanged, or unwatched: it runs; and EXEC forgets its watches.
  h.run(a, {"WATCH", "k1", "s1"});
  h.run(a, {"MULTI"});
  h.run(a, {"SET", "k1", "mine"});
  EXPECT_EQ(h.run(a, {"EXEC"}).size(), 1u);
  h.run(b, {"SET", "k1", "theirs"});
  h.run(a, {"MULTI"});
  h.run(a, {"SET", "k1", "mine again"});
  EXPECT_EQ(h.run(a, {"EXEC"}).size(), 1u);
  h.run(a, {"WATCH", "k1"});
  h.run(b, {"SET", "k1", "theirs"});
  EXPECT_EQ(h.run(a, {"UNWATCH"}).str(), "OK");
  h.run(a, {"MULTI"});
  h.run(a, {"SET", "k1", "after unwatch"});
  EXPECT_EQ(h.run(a, {"EXEC"}).size(), 1u);
  // The client's own write between WATCH and EXEC counts too, as in Redis.
  h.run(a, {"WATCH", "k1"});
  h.run(a, {"SET", "k1", "own"});
  h.run(a, {"MULTI"});
  h.run(a, {"SET", "k1", "never"});
  EXPECT_TRUE(h.run(a, {"EXEC"}).is_null());
  EXPECT_EQ(h.run(a, {"GET", "k1"}).str(), "own");
}

TEST(RespTransactions, BlockingCommandsInsideExecAnswerAtOnce) {
  RespHarness h;
  h.run({"MULTI"});
  h.run({"XREAD", "BLOCK", "0", "STREAMS", "nothing", "$"});
  h.run({"WAIT", "1", "0"});
  h.run({"XADD", "s", "1-1", "f", "v"});
  h.run({"XGROUP", "CREATE", "s", "g", "$"});
  h.run({"XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"});
  RespValue v = h.run({"EXEC"});
  ASSERT_EQ(v.size(), 5u);
  EXPECT_TRUE(v[0].is_null());
  EXPECT_EQ(v[1].integer(), 0);
  EXPECT_TRUE(v[4].is_null());
}

TEST(RespTransactions, QueueOverItsLimitAbortsExec) {
  resp::ServerOptions o;
  o.session.max_queued_bytes = 1000;
  RespHarness h(o);
  h.run({"MULTI"});
  EXPECT_EQ(h.run({"SET", "a", std::string(600, 'x')}).str(), "QUEUED");
  RespValue over = h.run({"SET", "b", std::string(600, 'y')});
  EXPECT_EQ(over.str(), "ERR MULTI's queue would pass its limit of 1000 bytes");
  EXPECT_EQ(h.run({"EXEC"}).str(), "EXECABORT Transaction discarded because of previous errors.");
  EXPECT_TRUE(h.run({"GET", "a"}).is_null());
}

TEST(RespTransactions, ClientListShowsTheQueue) {
  RespHarness h;
  h.run({"MULTI"});
  h.run({"SET", "a", "1"});
  h.run({"SET", "b", "2"});
  h.run({"EXEC"});
  auto other = h.client();
  h.run(other, {"MULTI"});
  h.run(other, {"PING"});
  std::string list = h.run({"CLIENT", "LIST"}).str();
  EXPECT_NE(list.find("flags=x db=0 sub=0 psub=0 ssub=0 multi=1 "), std::string::npos) << list;
}

TEST(RespTransactions, ExecResultsSurviveAReopen) {
  RespHarness h;
  h.run({"MULTI"});
  h.run({"SET", "a", "1"});
  h.run({"XADD", "s", "1-1", "f", "v"});
  h.run({"XADD", "t", "1-1", "f", "v"});
  ASSERT_EQ(h.run({"EXEC"}).size(), 3u);
  h.reopen_cold();
  EXPECT_EQ(h.run({"GET", "a"}).str(), "1");
  EXPECT_EQ(h.run({"XLEN", "s"}).integer(), 1);
  EXPECT_EQ(h.run({"XLEN", "t"}).integer(), 1);
}

// The hold itself: while a transaction holds the shards, another client's
// request waits; the transaction's own work runs; once it ends, what waited
// runs, in order.
TEST(RespTransactions, OthersWaitWhileATransactionHoldsTheShards) {
  RespHarness h;
  auto other = h.client();
  std::promise<uint64_t> held;
  h.engine().txn_begin({0, 1}, [&held](Result<uint64_t> t) { held.set_value(t.is_ok() ? *t : 0); });
  uint64_t txn = held.get_future().get();
  ASSERT_NE(txn, 0u);
  uint64_t set = h.send(other, {"SET", "k", "other"});
  uint64_t xadd = h.send(other, {"XADD", "s", "1-1", "f", "v"});
  EXPECT_FALSE(h.answered_within(other, set, 300));
  EXPECT_FALSE(h.answered_within(other, xadd, 10));
  {
    // The transaction's own write goes through the hold.
    runtime::TxnScope scope(txn);
    std::promise<bool> put;
    h.engine().kv_put("k", "mine", false, [&put](Result<TxnResult> r) { put.set_value(r.is_ok()); });
    EXPECT_TRUE(put.get_future().get());
  }
  EXPECT_FALSE(h.answered_within(other, set, 50));
  std::promise<Result<bool>> ended;
  h.engine().txn_end(txn, {0, 1}, [&ended](Result<bool> r) { ended.set_value(std::move(r)); });
  Result<bool> end = ended.get_future().get();
  ASSERT_TRUE(end.is_ok()) << end.status().to_string();
  EXPECT_TRUE(*end) << "it wrote";
  EXPECT_EQ(h.wait(other, set).str(), "OK");
  EXPECT_EQ(h.wait(other, xadd).str(), "1-1");
  EXPECT_EQ(h.run(other, {"GET", "k"}).str(), "other") << "the waiting write ran after";
}

// A stop while a transaction holds the shards does not wait for it; the
// transaction, never committed, is gone after the reopen, and what waited
// for it never ran (nothing may follow its provisional writes but their
// commit mark).
TEST(RespTransactions, StopInsideATransactionDropsIt) {
  RespHarness h;
  auto other = h.client();
  h.run({"SET", "k", "before"});
  std::promise<uint64_t> held;
  h.engine().txn_begin({0, 1}, [&held](Result<uint64_t> t) { held.set_value(t.is_ok() ? *t : 0); });
  uint64_t txn = held.get_future().get();
  ASSERT_NE(txn, 0u);
  {
    runtime::TxnScope scope(txn);
    std::promise<bool> put;
    h.engine().kv_put("k", "in the transaction", false, [&put](Result<TxnResult> r) { put.set_value(r.is_ok()); });
    EXPECT_TRUE(put.get_future().get());
  }
  uint64_t waiting = h.send(other, {"SET", "w", "waited"});
  EXPECT_FALSE(h.answered_within(other, waiting, 100));
  h.reopen_cold();
  EXPECT_EQ(h.run({"GET", "k"}).str(), "before");
  EXPECT_FALSE(h.answered_within(other, waiting, 10));
  EXPECT_TRUE(h.run({"GET", "w"}).is_null());
}

// A command of the queue that answers later (DEBUG SLEEP) still answers
// when its client has gone: EXEC ends and lets the shards go, so others go on.
TEST(RespTransactions, ExecWhoseClientLeavesStillLetsTheShardsGo) {
  RespHarness h;
  auto leaver = h.client(), other = h.client();
  h.run(leaver, {"MULTI"});
  h.run(leaver, {"SET", "k", "1"});
  h.run(leaver, {"DEBUG", "SLEEP", "0.2"});
  h.run(leaver, {"SET", "k", "2"});
  uint64_t exec = h.send(leaver, {"EXEC"});
  EXPECT_FALSE(h.answered_within(leaver, exec, 50));
  leaver->leave();
  for (int i = 0; i < 100 && !leaver->replies.count(exec); ++i) leaver->reactor->run_for(std::chrono::milliseconds(5));
  EXPECT_EQ(h.run(other, {"GET", "k"}).str(), "2") << "the transaction ran to its end";
  EXPECT_EQ(h.run(other, {"SET", "k", "3"}).str(), "OK");
}

}  // namespace
}  // namespace redcar::test
