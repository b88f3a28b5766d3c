// RESP commands in process (resp_harness.h): what each command answers,
// word for word where clients match on it, over the real engine on the
// in-memory disk. The wire itself (sockets, pipelining, TLS) is covered by
// tests/integration.
#include <gtest/gtest.h>

#include "tests/unit/resp_harness.h"

namespace redcar::test {
namespace {

const char* kWrongType = "WRONGTYPE Operation against a key holding the wrong kind of value";

TEST(RespCommands, XaddXlenXrange) {
  RespHarness h;
  auto id = h.run({"XADD", "s", "1-1", "f", "v"});
  ASSERT_EQ(id.type, RespValue::Type::kBulk) << id.text;
  EXPECT_EQ(id.str(), "1-1");
  EXPECT_EQ(h.run({"XADD", "s", "*", "g", "w"}).type, RespValue::Type::kBulk);
  EXPECT_EQ(h.run({"XLEN", "s"}).integer(), 2);
  auto range = h.run({"XRANGE", "s", "-", "+", "COUNT", "1"});
  ASSERT_EQ(range.size(), 1u);
  EXPECT_EQ(range[0][0].str(), "1-1");
  EXPECT_EQ(range[0][1][0].str(), "f");
  EXPECT_EQ(range[0][1][1].str(), "v");
  EXPECT_EQ(h.raw({"XRANGE", "nothing", "-", "+"}), "*0\r\n");
}

// `n` entries of 300 B in `stream`, one in a hundred a typed event (as the
// native API writes them) among XADD's field entries.
void fill_mixed(RespHarness& h, const std::string& stream, int n) {
  auto c = h.client();
  std::vector<uint64_t> slots;
  for (int i = 0; i < n; ++i) {
    if (i % 100 == 7) {
      EventData d;
      d.type = "order.placed";
      d.data = std::string(300, 'j');
      ASSERT_TRUE(append(h.engine(), stream, {d}));
    } else {
      slots.push_back(h.send(c, {"XADD", stream, "*", "f", std::string(300, 'a' + i % 26), "n", std::to_string(i)}));
    }
  }
  for (uint64_t slot : slots) ASSERT_EQ(h.wait(c, slot).type, RespValue::Type::kBulk);
}

TEST(RespCommands, XrangeFromTheDiskAnswersAsFromMemoryOrFailsWhole) {
  RespHarness h;
  // More than one block of cold reads (256 KiB), with typed events among them.
  ASSERT_NO_FATAL_FAILURE(fill_mixed(h, "s", 1500));
  const std::string all = h.raw({"XRANGE", "s", "-", "+"});
  const std::string ten = h.raw({"XRANGE", "s", "-", "+", "COUNT", "10"});
  ASSERT_EQ(parse_resp(all).size(), 1500u);
  h.reopen_cold();
  EXPECT_EQ(h.raw({"XRANGE", "s", "-", "+", "COUNT", "10"}), ten);
  EXPECT_EQ(h.raw({"XRANGE", "s", "-", "+"}), all);
  // With the first block cached, the read of the next one fails: the
  // client gets the error alone, not the entries written before it.
  h.reopen_cold(4 << 20);
  EXPECT_EQ(h.raw({"XRANGE", "s", "-", "+", "COUNT", "10"}), ten);
  io::MemFs::Faults f;
  f.fail_reads_errno = EIO;
  h.fs().set_faults(f);
  std::string failed = h.raw({"XRANGE", "s", "-", "+"});
  h.fs().set_faults({});
  ASSERT_FALSE(failed.empty());
  EXPECT_EQ(failed[0], '-') << failed.substr(0, 200);
  EXPECT_EQ(failed.find("\r\n"), failed.size() - 2) << failed.substr(0, 200);
  EXPECT_EQ(h.raw({"XRANGE", "s", "-", "+"}), all);
}

// What XREADGROUP of new entries from one stream answers, built from what
// XRANGE answers for the same entries (the same bytes per entry).
// (XREADGROUP's array of entries is XRANGE's whole answer.)
std::string group_answer(const std::string& key, const std::string& xrange_reply, int protocol = 2) {
  std::string head = protocol == 3 ? "%1\r\n" : "*1\r\n*2\r\n";
  head += "$" + std::to_string(key.size()) + "\r\n" + key + "\r\n";
  return head + xrange_reply;
}

TEST(RespCommands, XreadgroupOfNewEntriesAnswersWhatXrangeShowsHotOrCold) {
  // XREADGROUP of one stream's new entries writes them from the log as the
  // engine lends them: byte for byte what XRANGE writes for the same entries,
  // from memory and from disk, and delivered once each, in order.
  RespHarness h;
  auto c = h.client();
  ASSERT_NO_FATAL_FAILURE(fill_mixed(h, "s", 1200));
  ASSERT_EQ(h.run({"XGROUP", "CREATE", "s", "g", "0"}).str(), "OK");
  auto ids = h.run({"XRANGE", "s", "-", "+"});
  ASSERT_EQ(ids.size(), 1200u);
  auto range = [&](size_t from, size_t n) {
    return h.raw({"XRANGE", "s", ids[from][0].str(), ids[from + n - 1][0].str()});
  };
  size_t next = 0;
  auto expect_next = [&](const std::string& consumer, size_t n, bool cold) {
    SCOPED_TRACE(consumer + (cold ? ", cold" : ", hot") + ", from " + std::to_string(next));
    EXPECT_EQ(h.raw({"XREADGROUP", "GROUP", "g", consumer, "COUNT", std::to_string(n), "STREAMS", "s", ">"}),
              group_answer("s", range(next, n)));
    next += n;
  };
  expect_next("a", 10, false);
  expect_next("b", 1, false);
  expect_next("a", 150, false);
  h.reopen_cold();
  expect_next("b", 10, true);
  expect_next("a", 500, true);  // more than a block of the log
  // Each once: as many pending as were delivered, per consumer.
  auto pending = h.run({"XPENDING", "s", "g"});
  EXPECT_EQ(pending[0].integer(), static_cast<int64_t>(next));
  ASSERT_EQ(pending[3].size(), 2u);
  EXPECT_EQ(pending[3][0][1].str(), "660");  // a: 10 + 150 + 500
  EXPECT_EQ(pending[3][1][1].str(), "11");   // b: 1 + 10
  // NOACK delivers without pending entries; RESP3 answers a map.
  ASSERT_EQ(h.run(c, {"HELLO", "3"}).type, RespValue::Type::kMap);
  EXPECT_EQ(h.raw(c, {"XREADGROUP", "GROUP", "g", "c", "COUNT", "5", "NOACK", "STREAMS", "s", ">"}),
            group_answer("s", range(next, 5), 3));
  next += 5;
  EXPECT_EQ(h.run({"XPENDING", "s", "g"})[0].integer(), 671);
  // The rest, then nothing: a null (RESP3's, on this client; RESP2's on
  // another).
  EXPECT_EQ(h.raw(c, {"XREADGROUP", "GROUP", "g", "a", "STREAMS", "s", ">"}),
            group_answer("s", range(next, 1200 - next), 3));
  EXPECT_EQ(h.raw(c, {"XREADGROUP", "GROUP", "g", "a", "STREAMS", "s", ">"}), "_\r\n");
  EXPECT_EQ(h.raw(h.client(), {"XREADGROUP", "GROUP", "g", "a", "STREAMS", "s", ">"}), "*-1\r\n");
}

TEST(RespCommands, XreadgroupThatFailsOnTheDiskAnswersTheErrorAndDeliversNothing) {
  RespHarness h;
  auto c = h.client();
  std::vector<uint64_t> slots;
  for (int i = 0; i < 1500; ++i) {
    slots.push_back(h.send(c, {"XADD", "s", std::to_string(i + 1) + "-1", "f", std::string(300, 'a' + i % 26)}));
  }
  for (uint64_t slot : slots) ASSERT_EQ(h.wait(c, slot).type, RespValue::Type::kBulk);
  ASSERT_EQ(h.run({"XGROUP", "CREATE", "s", "g", "0"}).str(), "OK");
  ASSERT_EQ(h.run({"XGROUP", "CREATE", "t", "g", "$", "MKSTREAM"}).str(), "OK");
  const std::string all = h.raw({"XRANGE", "s", "-", "+"});
  // The first block cached, the next read fails: the error alone, and no
  // entry counts as delivered, so the next read gets them all. So too when
  // the read names two streams (the general path, which copies entries).
  h.reopen_cold(4 << 20);
  ASSERT_EQ(h.run({"XRANGE", "s", "-", "+", "COUNT", "10"}).size(), 10u);
  io::MemFs::Faults f;
  f.fail_reads_errno = EIO;
  h.fs().set_faults(f);
  std::string failed = h.raw({"XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"});
  std::string failed_two = h.raw({"XREADGROUP", "GROUP", "g", "c", "STREAMS", "t", "s", ">", ">"});
  h.fs().set_faults({});
  for (const std::string& answer : {failed, failed_two}) {
    ASSERT_FALSE(answer.empty());
    EXPECT_EQ(answer[0], '-') << answer.substr(0, 200);
    EXPECT_EQ(answer.find("\r\n"), answer.size() - 2) << answer.substr(0, 200);
  }
  EXPECT_EQ(h.run({"XPENDING", "s", "g"})[0].integer(), 0);
  EXPECT_EQ(h.raw({"XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"}), group_answer("s", all));
  EXPECT_EQ(h.run({"XPENDING", "s", "g"})[0].integer(), 1500);
}

TEST(RespCommands, XreadgroupsOfOneClientReuseTheirRequestWithoutMixingThem) {
  // Each XREADGROUP fills the request its recycled reply lends the engine:
  // a shorter stream, group or consumer name than the last one's, or no
  // NOACK after one, must leave nothing of it behind.
  RespHarness h;
  auto c = h.client();
  const std::string long_stream(100, 's'), long_group(60, 'g'), long_consumer(80, 'c');
  ASSERT_EQ(h.run(c, {"XADD", long_stream, "1-1", "f", "long"}).str(), "1-1");
  ASSERT_EQ(h.run(c, {"XADD", "s", "1-1", "f", "short"}).str(), "1-1");
  ASSERT_EQ(h.run(c, {"XADD", "s", "2-1", "f", "short2"}).str(), "2-1");
  ASSERT_EQ(h.run(c, {"XGROUP", "CREATE", long_stream, long_group, "0"}).str(), "OK");
  ASSERT_EQ(h.run(c, {"XGROUP", "CREATE", "s", "g", "0"}).str(), "OK");
  auto first = h.run(c, {"XREADGROUP", "GROUP", long_group, long_consumer, "NOACK", "STREAMS", long_stream, ">"});
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0][0].str(), long_stream);
  EXPECT_EQ(first[0][1][0][1][1].str(), "long");
  auto second = h.run(c, {"XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">"});
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0][0].str(), "s");
  ASSERT_EQ(second[0][1].size(), 1u);
  EXPECT_EQ(second[0][1][0][1][1].str(), "short");
  auto third = h.run(c, {"XREADGROUP", "GROUP", "g", "d", "STREAMS", "s", ">"});
  ASSERT_EQ(third[0][1].size(), 1u);
  EXPECT_EQ(third[0][1][0][0].str(), "2-1");
  // Pending: none in the NOACK group; in g, one each for c and d.
  EXPECT_EQ(h.run(c, {"XPENDING", long_stream, long_group})[0].integer(), 0);
  auto pending = h.run(c, {"XPENDING", "s", "g"});
  EXPECT_EQ(pending[0].integer(), 2);
  ASSERT_EQ(pending[3].size(), 2u);
  EXPECT_EQ(pending[3][0][0].str(), "c");
  EXPECT_EQ(pending[3][1][0].str(), "d");
}

TEST(RespCommands, XaddsOfOneClientReuseTheirEventsWithoutMixingThem) {
  // Each XADD fills the event its recycled reply lends the engine: fewer
  // fields or shorter values than the last one's must leave nothing behind.
  RespHarness h;
  auto c = h.client();
  // One at a time, so that each takes the reply the last one let go.
  ASSERT_EQ(h.run(c, {"XADD", "s", "1-1", "a", std::string(500, 'x'), "b", "2", "c", "3"}).str(), "1-1");
  ASSERT_EQ(h.run(c, {"XADD", "s", "2-1", "z", "1"}).str(), "2-1");
  ASSERT_EQ(h.run(c, {"XADD", "other", "3-1", "f", ""}).str(), "3-1");
  ASSERT_EQ(h.run(c, {"XADD", "s", "4-1", "a", "short", "b", std::string(300, 'y')}).str(), "4-1");
  for (int round = 0; round < 2; ++round) {
    auto all = h.run(c, {"XRANGE", "s", "-", "+"});
    ASSERT_EQ(all.size(), 3u);
    auto fields = [&](size_t k) {
      std::vector<std::string> out;
      for (auto& v : all[k][1].items) out.push_back(v.str());
      return out;
    };
    EXPECT_EQ(fields(0), (std::vector<std::string>{"a", std::string(500, 'x'), "b", "2", "c", "3"}));
    EXPECT_EQ(fields(1), (std::vector<std::string>{"z", "1"}));
    EXPECT_EQ(fields(2), (std::vector<std::string>{"a", "short", "b", std::string(300, 'y')}));
    auto other = h.run(c, {"XRANGE", "other", "-", "+"});
    ASSERT_EQ(other.size(), 1u);
    EXPECT_EQ(other[0][1][1].str(), "");
    h.reopen_cold(4 << 20);
  }
}

TEST(RespCommands, SetsOfOneClientReuseTheirRequestWithoutMixingThem) {
  // Each SET fills the request its recycled reply lends the engine: the
  // conditions and the read of an earlier SET NX ... GET must not stay.
  RespHarness h;
  auto c = h.client();
  EXPECT_EQ(h.run(c, {"SET", "a", std::string(500, 'x')}).str(), "OK");
  EXPECT_EQ(h.run(c, {"SET", "b", "v", "NX"}).str(), "OK");
  EXPECT_EQ(h.run(c, {"SET", "b", "w", "NX", "GET"}).str(), "v");
  EXPECT_TRUE(h.run(c, {"SET", "b", "w", "NX"}).is_null());
  EXPECT_EQ(h.run(c, {"SET", "c", "z"}).str(), "OK");
  EXPECT_EQ(h.run(c, {"SET", "b", "u", "XX", "GET"}).str(), "v");
  EXPECT_EQ(h.run(c, {"SET", "d", "y", "GET"}).type, RespValue::Type::kNull);
  EXPECT_EQ(h.run(c, {"SET", "a", "short"}).str(), "OK");
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(h.run(c, {"GET", "a"}).str(), "short");
    EXPECT_EQ(h.run(c, {"GET", "b"}).str(), "u");
    EXPECT_EQ(h.run(c, {"GET", "c"}).str(), "z");
    EXPECT_EQ(h.run(c, {"GET", "d"}).str(), "y");
    h.reopen_cold();
  }
}

TEST(RespCommands, XaddRefusesANameAStringKeyHolds) {
  RespHarness h;
  EXPECT_EQ(h.run({"SET", "k", "v"}).str(), "OK");
  EXPECT_EQ(h.run({"XADD", "k", "*", "f", "v"}).str(), kWrongType);
  EXPECT_EQ(h.run({"GET", "k"}).str(), "v") << "the key is untouched";
  EXPECT_EQ(h.run({"TYPE", "k"}).str(), "string");
  // A stream that exists takes appends whatever the key space holds later.
  EXPECT_EQ(h.run({"XADD", "s", "*", "f", "v"}).type, RespValue::Type::kBulk);
  EXPECT_EQ(h.run({"GET", "s"}).str(), kWrongType);
}

TEST(RespCommands, XreadOfAStringKeyIsWrongtype) {
  RespHarness h;
  h.run({"SET", "k", "v"});
  h.run({"XADD", "s", "1-1", "f", "v"});
  EXPECT_EQ(h.run({"XREAD", "STREAMS", "k", "0"}).str(), kWrongType);
  EXPECT_EQ(h.run({"XREAD", "STREAMS", "s", "k", "0", "0"}).str(), kWrongType) << "whatever the others hold";
  EXPECT_EQ(h.run({"XREAD", "BLOCK", "0", "STREAMS", "k", "$"}).str(), kWrongType) << "and without waiting";
  EXPECT_TRUE(h.run({"XREAD", "STREAMS", "missing", "0"}).is_null());
  RespValue v = h.run({"XREAD", "STREAMS", "s", "missing", "0", "0"});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0][0].str(), "s");
}

TEST(RespCommands, GroupCommandsOnAStringKeyAreWrongtype) {
  RespHarness h;
  h.run({"SET", "k", "v"});
  for (std::vector<std::string> c : std::vector<std::vector<std::string>>{
           {"XREADGROUP", "GROUP", "g", "c", "STREAMS", "k", ">"},
           {"XREADGROUP", "GROUP", "g", "c", "STREAMS", "k", "0"},
           {"XACK", "k", "g", "1-1"},
           {"XPENDING", "k", "g"},
           {"XPENDING", "k", "g", "-", "+", "10"},
           {"XCLAIM", "k", "g", "c", "0", "1-1"},
           {"XAUTOCLAIM", "k", "g", "c", "0", "0"},
           {"XINFO", "CONSUMERS", "k", "g"},
           {"XGROUP", "SETID", "k", "g", "0"},
           {"XGROUP", "DESTROY", "k", "g"},
           {"XGROUP", "CREATECONSUMER", "k", "g", "c"},
           {"XGROUP", "DELCONSUMER", "k", "g", "c"}}) {
    EXPECT_EQ(h.run(c).str(), kWrongType) << c[0] << " " << c[1];
  }
  EXPECT_EQ(h.run({"GET", "k"}).str(), "v");
}

TEST(RespCommands, XaddNomkstreamOnAMissingStreamIsNull) {
  RespHarness h;
  EXPECT_TRUE(h.run({"XADD", "s", "NOMKSTREAM", "*", "f", "v"}).is_null());
  EXPECT_EQ(h.run({"EXISTS", "s"}).integer(), 0);
}

TEST(RespCommands, XaddIdErrorsInRedisWords) {
  RespHarness h;
  EXPECT_EQ(h.run({"XADD", "s", "0-0", "f", "v"}).str(), "ERR The ID specified in XADD must be greater than 0-0");
  ASSERT_EQ(h.run({"XADD", "s", "5-5", "f", "v"}).str(), "5-5");
  for (const char* id : {"5-5", "5-4", "4-9", "4-*"}) {
    EXPECT_EQ(h.run({"XADD", "s", id, "f", "v"}).str(),
              "ERR The ID specified in XADD is equal or smaller than the target stream top item")
        << id;
  }
  EXPECT_EQ(h.run({"XADD", "s", "5-*", "f", "v"}).str(), "5-6");
  EXPECT_EQ(h.run({"XADD", "s", "x-1", "f", "v"}).str(), "ERR Invalid stream ID specified as stream command argument");
}

TEST(RespCommands, XsetidErrors) {
  RespHarness h;
  EXPECT_EQ(h.run({"XSETID", "none", "1-1"}).str(), "ERR no such key");
  ASSERT_EQ(h.run({"XADD", "s", "5-5", "f", "v"}).str(), "5-5");
  EXPECT_EQ(h.run({"XSETID", "s", "1-1"}).str(),
            "ERR The ID specified in XSETID is smaller than the target stream top item");
  EXPECT_EQ(h.run({"XSETID", "s", "9-9", "ENTRIESADDED", "0"}).str(),
            "ERR The entries_added specified in XSETID is smaller than the target stream length");
  EXPECT_EQ(h.run({"XSETID", "s", "9-9"}).str(), "OK");
}

TEST(RespCommands, GroupErrorsNameKeyAndGroup) {
  RespHarness h;
  EXPECT_EQ(h.run({"XGROUP", "CREATE", "s", "g", "$"}).str(),
            "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the "
            "MKSTREAM option to create an empty stream automatically.");
  EXPECT_EQ(h.run({"XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"}).str(), "OK");
  EXPECT_EQ(h.run({"XGROUP", "CREATE", "s", "g", "$"}).str(), "BUSYGROUP Consumer Group name already exists");
  EXPECT_EQ(h.run({"XGROUP", "SETID", "none", "g", "$"}).str(), "ERR no such key");
  EXPECT_EQ(h.run({"XGROUP", "SETID", "s", "x", "$"}).str(), "NOGROUP No such consumer group 'x' for key name 's'");
  EXPECT_EQ(h.run({"XGROUP", "CREATECONSUMER", "s", "x", "c"}).str(),
            "NOGROUP No such consumer group 'x' for key name 's'");
  EXPECT_EQ(h.run({"XREADGROUP", "GROUP", "x", "c", "STREAMS", "s", ">"}).str(),
            "NOGROUP No such key 's' or consumer group 'x' in XREADGROUP with GROUP option");
  EXPECT_EQ(h.run({"XREADGROUP", "GROUP", "g", "c", "STREAMS", "none", ">"}).str(),
            "NOGROUP No such key 'none' or consumer group 'g' in XREADGROUP with GROUP option");
  EXPECT_EQ(h.run({"XPENDING", "s", "x"}).str(), "NOGROUP No such key 's' or consumer group 'x'");
  EXPECT_EQ(h.run({"XCLAIM", "s", "x", "c", "0", "1-1"}).str(), "NOGROUP No such key 's' or consumer group 'x'");
  EXPECT_EQ(h.run({"XINFO", "CONSUMERS", "s", "x"}).str(), "NOGROUP No such consumer group 'x' for key name 's'");
}

TEST(RespCommands, XreadgroupDeliversOnceAndAcks) {
  RespHarness h;
  ASSERT_EQ(h.run({"XADD", "s", "1-1", "f", "v"}).str(), "1-1");
  ASSERT_EQ(h.run({"XGROUP", "CREATE", "s", "g", "0"}).str(), "OK");
  auto first = h.run({"XREADGROUP", "GROUP", "g", "a", "COUNT", "10", "STREAMS", "s", ">"});
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0][0].str(), "s");
  ASSERT_EQ(first[0][1].size(), 1u);
  EXPECT_EQ(first[0][1][0][0].str(), "1-1");
  // Nothing new for another member: a null array.
  EXPECT_TRUE(h.run({"XREADGROUP", "GROUP", "g", "b", "STREAMS", "s", ">"}).is_null());
  auto pending = h.run({"XPENDING", "s", "g"});
  EXPECT_EQ(pending[0].integer(), 1);
  EXPECT_EQ(h.run({"XACK", "s", "g", "1-1"}).integer(), 1);
  EXPECT_EQ(h.run({"XPENDING", "s", "g"})[0].integer(), 0);
}

TEST(RespCommands, XreadBlockIsWokenByAnotherClientsXadd) {
  RespHarness h;
  auto reader = h.client();
  auto writer = h.client();
  ASSERT_EQ(h.run(writer, {"XADD", "s", "1-1", "f", "v"}).str(), "1-1");
  uint64_t slot = h.send(reader, {"XREAD", "BLOCK", "0", "STREAMS", "s", "$"});
  EXPECT_FALSE(h.answered_within(reader, slot, 50)) << "nothing new yet";
  ASSERT_EQ(h.run(writer, {"XADD", "s", "2-1", "f", "w"}).str(), "2-1");
  auto got = h.wait(reader, slot);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0][0].str(), "s");
  ASSERT_EQ(got[0][1].size(), 1u);
  EXPECT_EQ(got[0][1][0][0].str(), "2-1");
}

TEST(RespCommands, XreadBlockTimesOutWithANullArray) {
  RespHarness h;
  ASSERT_EQ(h.run({"XADD", "s", "1-1", "f", "v"}).str(), "1-1");
  auto c = h.client();
  uint64_t slot = h.send(c, {"XREAD", "BLOCK", "30", "STREAMS", "s", "$"});
  EXPECT_EQ(h.wait_raw(c, slot), "*-1\r\n");
}

TEST(RespCommands, XreadgroupBlockWithoutEndIsWokenByXadd) {
  RespHarness h;
  auto reader = h.client();
  auto writer = h.client();
  ASSERT_EQ(h.run(writer, {"XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"}).str(), "OK");
  uint64_t slot = h.send(reader, {"XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"});
  EXPECT_FALSE(h.answered_within(reader, slot, 50));
  ASSERT_EQ(h.run(writer, {"XADD", "s", "7-1", "f", "v"}).str(), "7-1");
  auto got = h.wait(reader, slot);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0][1][0][0].str(), "7-1");
}

TEST(RespCommands, ABlockedReadEndsWhenItsClientLeaves) {
  RespHarness h;
  auto reader = h.client();
  ASSERT_EQ(h.run({"XADD", "s", "1-1", "f", "v"}).str(), "1-1");
  uint64_t slot = h.send(reader, {"XREAD", "BLOCK", "0", "STREAMS", "s", "$"});
  EXPECT_FALSE(h.answered_within(reader, slot, 30));
  reader->leave();
  ASSERT_EQ(h.run({"XADD", "s", "2-1", "f", "v"}).str(), "2-1");
  EXPECT_FALSE(h.answered_within(reader, slot, 50)) << "a client that left gets no answer";
}

TEST(RespCommands, XreadArgumentErrors) {
  RespHarness h;
  EXPECT_EQ(h.run({"XREAD", "STREAMS", "a", "b", "0"}).str(),
            "ERR Unbalanced 'xread' list of streams: for each stream key an ID or '$' must be specified.");
  EXPECT_EQ(h.run({"XREADGROUP", "GROUP", "g", "c", "STREAMS", "a", "b", "c"}).str(),
            "ERR Unbalanced 'xreadgroup' list of streams: for each stream key an ID or '>' must be specified.");
  EXPECT_EQ(h.run({"XREAD", "BLOCK", "-1", "STREAMS", "a", "0"}).str(), "ERR timeout is negative");
  EXPECT_EQ(h.run({"XREAD", "STREAMS", "a", ">"}).str(), "ERR Invalid stream ID specified as stream command argument");
  EXPECT_EQ(h.run({"XREAD", "NOACK", "STREAMS", "a", "0"}).str(), "ERR syntax error");
}

TEST(RespCommands, UnknownCommandsAndArity) {
  RespHarness h;
  EXPECT_EQ(h.run({"NOSUCH", "a", "b"}).str(), "ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' ");
  EXPECT_EQ(h.run({"XLEN"}).str(), "ERR wrong number of arguments for 'xlen' command");
  EXPECT_EQ(h.run({"PING"}).str(), "PONG");
}

TEST(RespCommands, AuthGatesCommandsUntilThePassword) {
  resp::ServerOptions opt;
  opt.requirepass = "secret";
  RespHarness h(opt);
  EXPECT_EQ(h.run({"XLEN", "s"}).str(), "NOAUTH Authentication required.");
  EXPECT_TRUE(h.run({"AUTH", "wrong"}).is_error());
  EXPECT_EQ(h.run({"AUTH", "secret"}).str(), "OK");
  EXPECT_EQ(h.run({"XLEN", "s"}).integer(), 0);
}

TEST(RespCommands, PublishReachesSubscribersAsPushes) {
  RespHarness h;
  auto sub = h.client();
  auto confirm = h.run(sub, {"SUBSCRIBE", "news"});
  EXPECT_EQ(confirm[0].str(), "subscribe");
  EXPECT_EQ(h.run({"PUBLISH", "news", "hello"}).integer(), 1);
  ASSERT_TRUE(eventually([&] {
    sub->reactor->poll();
    return !sub->pushes.empty();
  }));
  auto msg = parse_resp(sub->pushes[0]);
  ASSERT_EQ(msg.size(), 3u);
  EXPECT_EQ(msg[0].str(), "message");
  EXPECT_EQ(msg[2].str(), "hello");
}

// Stream commands on a name a string key holds answer WRONGTYPE, as Redis
// does; on a name nothing holds, their empty answers.
TEST(RespCommands, StreamCommandsOnAStringKeyAnswerWrongtype) {
  RespHarness h;
  h.run({"SET", "str", "v"});
  for (std::vector<std::string> cmd : std::vector<std::vector<std::string>>{
           {"XLEN", "str"},
           {"XRANGE", "str", "-", "+"},
           {"XREVRANGE", "str", "+", "-"},
           {"XDEL", "str", "1-1"},
           {"XTRIM", "str", "MAXLEN", "0"},
           {"XSETID", "str", "5-5"},
           {"XINFO", "STREAM", "str"},
           {"XINFO", "STREAM", "str", "FULL"},
           {"XINFO", "GROUPS", "str"},
           {"XGROUP", "CREATE", "str", "g", "0", "MKSTREAM"},
           {"XADD", "str", "*", "f", "v"}}) {
    EXPECT_EQ(h.run(cmd).str(), kWrongType) << cmd[0] << " " << cmd[1];
  }
  EXPECT_EQ(h.run({"TYPE", "str"}).str(), "string");  // nothing was made over it
  EXPECT_EQ(h.run({"XLEN", "none"}).integer(), 0);
  EXPECT_EQ(h.raw({"XRANGE", "none", "-", "+"}), "*0\r\n");
  EXPECT_EQ(h.raw({"XREVRANGE", "none", "+", "-"}), "*0\r\n");
  EXPECT_EQ(h.run({"XDEL", "none", "1-1"}).integer(), 0);
  EXPECT_EQ(h.run({"XSETID", "none", "5-5"}).str(), "ERR no such key");
  EXPECT_EQ(h.run({"XINFO", "STREAM", "none"}).str(), "ERR no such key");
  EXPECT_EQ(h.run({"XINFO", "STREAM", "none", "FULL"}).str(), "ERR no such key");
  // A stream with nothing in range is still a stream.
  h.run({"XADD", "s", "5-1", "f", "v"});
  EXPECT_EQ(h.raw({"XRANGE", "s", "6", "+"}), "*0\r\n");
}

// XINFO STREAM FULL as Redis 7.0 answers it: the entries (COUNT of them),
// and each group with its pending entries and consumers with theirs.
TEST(RespCommands, XinfoStreamFullShowsEntriesGroupsConsumersAndPending) {
  RespHarness h;
  for (int i = 1; i <= 12; ++i) h.run({"XADD", "s", std::to_string(i) + "-1", "n", std::to_string(i)});
  h.run({"XGROUP", "CREATE", "s", "g", "0"});
  h.run({"XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">"});
  h.run({"XREADGROUP", "GROUP", "g", "bob", "COUNT", "1", "STREAMS", "s", ">"});
  h.run({"XGROUP", "CREATE", "s", "quiet", "$"});
  h.run({"XGROUP", "CREATECONSUMER", "s", "quiet", "idle"});
  auto full = h.run({"XINFO", "STREAM", "s", "FULL"});
  ASSERT_EQ(full.size(), 18u);  // 9 fields
  std::map<std::string, RespValue> f;
  for (size_t i = 0; i + 1 < full.size(); i += 2) f[full[i].str()] = full[i + 1];
  EXPECT_EQ(f["length"].integer(), 12);
  EXPECT_EQ(f["last-generated-id"].str(), "12-1");
  EXPECT_EQ(f["entries-added"].integer(), 12);
  EXPECT_EQ(f["recorded-first-entry-id"].str(), "1-1");
  ASSERT_EQ(f["entries"].size(), 10u);  // COUNT 10 unless told
  EXPECT_EQ(f["entries"][0][0].str(), "1-1");
  EXPECT_EQ(f["entries"][9][1][1].str(), "10");
  ASSERT_EQ(f["groups"].size(), 2u);
  const RespValue& g = f["groups"][0];
  ASSERT_EQ(g.size(), 14u);
  EXPECT_EQ(g[0].str(), "name");
  EXPECT_EQ(g[1].str(), "g");
  EXPECT_EQ(g[2].str(), "last-delivered-id");
  EXPECT_EQ(g[3].str(), "3-1");
  EXPECT_EQ(g[5].integer(), 3);   // entries-read
  EXPECT_EQ(g[7].integer(), 9);   // lag
  EXPECT_EQ(g[8].str(), "pel-count");
  EXPECT_EQ(g[9].integer(), 3);
  ASSERT_EQ(g[11].size(), 3u);    // pending: id, consumer, delivery time, count
  EXPECT_EQ(g[11][0][0].str(), "1-1");
  EXPECT_EQ(g[11][0][1].str(), "alice");
  EXPECT_GT(g[11][0][2].integer(), 0);
  EXPECT_EQ(g[11][0][3].integer(), 1);
  EXPECT_EQ(g[11][2][1].str(), "bob");
  const RespValue& consumers = g[13];
  ASSERT_EQ(consumers.size(), 2u);
  EXPECT_EQ(consumers[0][1].str(), "alice");
  EXPECT_EQ(consumers[0][4].str(), "pel-count");
  EXPECT_EQ(consumers[0][5].integer(), 2);
  ASSERT_EQ(consumers[0][7].size(), 2u);  // alice's own: id, delivery time, count
  EXPECT_EQ(consumers[0][7][1][0].str(), "2-1");
  EXPECT_EQ(consumers[0][7][1].size(), 3u);
  EXPECT_EQ(consumers[1][7].size(), 1u);
  const RespValue& quiet = f["groups"][1];
  EXPECT_EQ(quiet[1].str(), "quiet");
  EXPECT_EQ(quiet[9].integer(), 0);
  EXPECT_EQ(quiet[11].size(), 0u);
  ASSERT_EQ(quiet[13].size(), 1u);
  EXPECT_EQ(quiet[13][0][1].str(), "idle");
  // COUNT bounds entries and pending lists; 0 is all.
  auto one = h.run({"XINFO", "STREAM", "s", "FULL", "COUNT", "1"});
  EXPECT_EQ(one[15].size(), 1u);
  EXPECT_EQ(one[17][0][11].size(), 1u);
  EXPECT_EQ(one[17][0][13][0][7].size(), 1u);
  EXPECT_EQ(h.run({"XINFO", "STREAM", "s", "FULL", "COUNT", "0"})[15].size(), 12u);
  EXPECT_EQ(h.run({"XINFO", "STREAM", "s", "FULL", "COUNT", "x"}).str(), "ERR value is not an integer or out of range");
  EXPECT_EQ(h.run({"XINFO", "STREAM", "s", "FULL", "LIMIT"}).str(), "ERR syntax error");
}

}  // namespace
}  // namespace redcar::test
