// What a pubsub subscriber reads: messages (RESP2 arrays and RESP3 pushes)
// with the send time in their payload, the subscribe confirmation, errors,
// and pushes cut at every byte; and the flags the workload insists on.
#include "resp_pubsub_client.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "options.h"
#include "resp_codec.h"

namespace redcar::load::pubsub {
namespace {

using resp::Parse;

std::string payload_at(int64_t send_ns, size_t bytes) {
  std::string p(bytes, 'v');
  stamp_send_time(p.data(), send_ns);
  return p;
}

std::string bulk(std::string_view s) { return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n"; }

TEST(RespPubSub, MessageCarriesItsSendTime) {
  const std::string payload = payload_at(123456789012345, 20);
  const std::string in = "*3\r\n" + bulk("message") + bulk("bench-pubsub-1") + bulk(payload) + "+OK\r\n";
  Push p;
  size_t used = 0;
  ASSERT_EQ(read_push(in, &p, &used), Parse::kComplete);
  EXPECT_EQ(p.kind, Push::Kind::kMessage);
  EXPECT_EQ(p.channel, "bench-pubsub-1");
  EXPECT_EQ(p.payload, payload);
  EXPECT_EQ(p.send_ns, 123456789012345);
  EXPECT_EQ(used, in.size() - 5);
}

TEST(RespPubSub, Resp3Push) {
  const std::string payload = payload_at(42, 8);
  const std::string in = ">3\r\n" + bulk("message") + bulk("ch") + bulk(payload);
  Push p;
  size_t used = 0;
  ASSERT_EQ(read_push(in, &p, &used), Parse::kComplete);
  EXPECT_EQ(p.kind, Push::Kind::kMessage);
  EXPECT_EQ(p.channel, "ch");
  EXPECT_EQ(p.send_ns, 42);

  // The push's views point into its input, which must outlive them.
  const std::string confirm = ">3\r\n" + bulk("subscribe") + bulk("ch") + ":1\r\n";
  ASSERT_EQ(read_push(confirm, &p, &used), Parse::kComplete);
  EXPECT_EQ(p.kind, Push::Kind::kSubscribe);
  EXPECT_EQ(p.channel, "ch");
}

TEST(RespPubSub, ConfirmationErrorAndOthers) {
  Push p;
  size_t used = 0;
  const std::string confirm = "*3\r\n" + bulk("subscribe") + bulk("ch") + ":1\r\n";  // outlives p's views
  ASSERT_EQ(read_push(confirm, &p, &used), Parse::kComplete);
  EXPECT_EQ(p.kind, Push::Kind::kSubscribe);
  EXPECT_EQ(p.channel, "ch");

  ASSERT_EQ(read_push("-ERR unknown command 'SUBSCRIBE'\r\n", &p, &used), Parse::kComplete);
  EXPECT_EQ(p.kind, Push::Kind::kError);
  EXPECT_EQ(p.payload, "ERR unknown command 'SUBSCRIBE'");

  // A pattern message, a pong and a plain integer are none of the above.
  ASSERT_EQ(read_push("*4\r\n" + bulk("pmessage") + bulk("c*") + bulk("ch") + bulk("12345678"), &p, &used),
            Parse::kComplete);
  EXPECT_EQ(p.kind, Push::Kind::kOther);
  ASSERT_EQ(read_push("*2\r\n" + bulk("pong") + bulk(""), &p, &used), Parse::kComplete);
  EXPECT_EQ(p.kind, Push::Kind::kOther);
  ASSERT_EQ(read_push(":3\r\n", &p, &used), Parse::kComplete);
  EXPECT_EQ(p.kind, Push::Kind::kOther);
}

TEST(RespPubSub, ShortPayloadHasNoSendTime) {
  Push p;
  size_t used = 0;
  ASSERT_EQ(read_push("*3\r\n" + bulk("message") + bulk("ch") + bulk("1234567"), &p, &used), Parse::kComplete);
  EXPECT_EQ(p.kind, Push::Kind::kMessage);
  EXPECT_EQ(p.send_ns, -1);
}

TEST(RespPubSub, CutAnywhereIsIncomplete) {
  const std::string in = "*3\r\n" + bulk("message") + bulk("ch") + bulk(payload_at(7, 100));
  Push p;
  size_t used = 0;
  for (size_t n = 0; n < in.size(); ++n) {
    ASSERT_EQ(read_push(std::string_view(in).substr(0, n), &p, &used), Parse::kIncomplete) << n;
  }
  EXPECT_EQ(read_push("*3\r\n$7\r\nmessage\r\n$2\r\nchX\r\n", &p, &used), Parse::kMalformed);
}

TEST(RespPubSub, ElementsOfAnAggregate) {
  resp::Reply r, e[2];
  size_t used = 0;
  const std::string in = "*3\r\n" + bulk("a") + ":5\r\n*1\r\n" + bulk("x");
  ASSERT_EQ(resp::parse_elements(in, &r, e, 2, &used), Parse::kComplete);
  EXPECT_EQ(r.elements, 3);
  EXPECT_EQ(e[0].text, "a");
  EXPECT_EQ(e[1].type, ':');
  EXPECT_EQ(e[1].text, "5");
  EXPECT_EQ(used, in.size());
  // Not an aggregate: the elements stay empty.
  ASSERT_EQ(resp::parse_elements("+OK\r\n", &r, e, 2, &used), Parse::kComplete);
  EXPECT_EQ(e[0].type, 0);
}

int parse(std::vector<std::string> flags) {
  std::vector<char*> argv;
  static char name[] = "redcar-bench";
  argv.push_back(name);
  for (auto& f : flags) argv.push_back(f.data());
  Options o;
  return parse_options(static_cast<int>(argv.size()), argv.data(), &o);
}

TEST(RespPubSub, WorkloadFlags) {
  EXPECT_EQ(parse({"-w", "pubsub", "--target", "redis", "--subscribers", "10"}), -1);
  EXPECT_EQ(parse({"-w", "pubsub", "-d", "7"}), 2);
  EXPECT_EQ(parse({"-w", "pubsub", "--target", "redcar-native"}), 2);
}

}  // namespace
}  // namespace redcar::load::pubsub
