// The RESP server over real sockets, in process (so that the sanitizer
// build runs the io_uring network path too): connections spread over the
// shards, pipelining in order, QUIT and protocol errors closing the
// connection after the replies before them, a client that stops reading
// being dropped past the output limit, and a stop with clients connected.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "frontends/resp/server.h"
#include "tests/unit/engine_test_util.h"

namespace redcar::test {
namespace {

using namespace std::chrono_literals;

class RespServerTest : public ::testing::Test {
 protected:
  void start(resp::ServerOptions opt = {}) {
    engine_ = open_engine(mem_options(fs_));
    ASSERT_TRUE(engine_);
    opt.address = "127.0.0.1:0";
    server_ = std::make_unique<resp::Server>(*engine_, opt);
    ASSERT_TRUE(server_->start().is_ok());
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (engine_) engine_->stop();
  }

  int connect_client() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(server_->port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    // With a timeout set, an interrupted receive returns EINTR instead of
    // restarting, and this thread is interrupted: the engine's opening made
    // an io_uring here, whose teardown work is delivered to it. The helpers
    // below try again, as any client must.
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
  }
  static void send_all(int fd, const std::string& s) {
    size_t done = 0;
    while (done < s.size()) {
      ssize_t n = ::send(fd, s.data() + done, s.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      ASSERT_GT(n, 0);
      done += static_cast<size_t>(n);
    }
  }
  // Reads until `n` bytes came or the peer closed.
  static std::string read_n(int fd, size_t n) {
    std::string got;
    char buf[65536];
    while (got.size() < n) {
      ssize_t k = ::recv(fd, buf, sizeof(buf), 0);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) break;
      got.append(buf, static_cast<size_t>(k));
    }
    return got;
  }
  // Sends `req` and expects exactly `want` back.
  static void expect_answers(int fd, const std::string& req, const std::string& want) {
    send_all(fd, req);
    EXPECT_EQ(read_n(fd, want.size()), want);
  }
  // Whether the server closed the connection (end of data within 5 s).
  static bool closed_by_server(int fd) {
    char buf[65536];
    for (;;) {
      ssize_t k = ::recv(fd, buf, sizeof(buf), 0);
      if (k < 0 && errno == EINTR) continue;
      if (k == 0) return true;
      if (k < 0) return errno == ECONNRESET;
    }
  }

  io::MemFs fs_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<resp::Server> server_;
};

TEST_F(RespServerTest, ConnectionsOnEveryShardAnswerInOrder) {
  start();
  std::vector<int> fds;
  for (int i = 0; i < 4; ++i) fds.push_back(connect_client());  // round-robin over the 2 shards
  for (int i = 0; i < 4; ++i) {
    std::string k = "k" + std::to_string(i);
    send_all(fds[i], "*3\r\n$3\r\nSET\r\n$2\r\n" + k + "\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$2\r\n" + k + "\r\nPING\r\n");
  }
  const std::string want = "+OK\r\n$1\r\nv\r\n+PONG\r\n";
  for (int fd : fds) {
    EXPECT_EQ(read_n(fd, want.size()), want);
    ::close(fd);
  }
}

TEST_F(RespServerTest, ADeepPipelineComesBackWholeAndInOrder) {
  start();
  int fd = connect_client();
  std::string req, want;
  // Explicit IDs make every reply predictable.
  for (int i = 1; i <= 3000; ++i) {
    std::string id = std::to_string(i) + "-1";
    req += "*5\r\n$4\r\nXADD\r\n$1\r\ns\r\n$" + std::to_string(id.size()) + "\r\n" + id + "\r\n$1\r\nf\r\n$1\r\nv\r\n";
    want += "$" + std::to_string(id.size()) + "\r\n" + id + "\r\n";
  }
  std::thread writer([&] { send_all(fd, req); });
  std::string got = read_n(fd, want.size());
  writer.join();
  EXPECT_EQ(got, want);
  ::close(fd);
}

TEST_F(RespServerTest, PipelinedGroupReadsTakeEntriesInTheOrderSent) {
  start();
  int fd = connect_client();
  std::string req, want;
  for (int i = 1; i <= 5; ++i) {
    req += "XADD s " + std::to_string(i) + "-1 f v\r\n";
    want += "$3\r\n" + std::to_string(i) + "-1\r\n";
  }
  req += "XGROUP CREATE s g 0\r\n";
  want += "+OK\r\n";
  // Each read runs while the ones before it are still being written.
  for (int i = 1; i <= 5; ++i) {
    req += "XREADGROUP GROUP g c COUNT 1 STREAMS s >\r\n";
    want += "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n" + std::to_string(i) + "-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n";
  }
  req += "XACK s g 1-1 2-1\r\nXPENDING s g\r\n";
  want += ":2\r\n*4\r\n:3\r\n$3\r\n3-1\r\n$3\r\n5-1\r\n*1\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n";
  expect_answers(fd, req, want);
  ::close(fd);
}

TEST_F(RespServerTest, CommandsBehindABlockedReadWaitForItsAnswer) {
  start();
  int fd = connect_client();
  // As in Redis, the XADD runs only once the read has timed out, so the read
  // cannot see it.
  expect_answers(fd, "XREAD BLOCK 200 STREAMS b $\r\nXADD b 1-1 f v\r\n", "*-1\r\n$3\r\n1-1\r\n");
  expect_answers(fd,
                 "XGROUP CREATE q g $ MKSTREAM\r\n"
                 "XREADGROUP GROUP g c BLOCK 200 STREAMS q >\r\nXADD q 1-1 f v\r\n"
                 "XREADGROUP GROUP g c COUNT 5 STREAMS q >\r\n",
                 "+OK\r\n*-1\r\n$3\r\n1-1\r\n*1\r\n*2\r\n$1\r\nq\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
  ::close(fd);
}

TEST_F(RespServerTest, QuitAndProtocolErrorsCloseAfterTheRepliesBefore) {
  start();
  int a = connect_client();
  send_all(a, "PING\r\nQUIT\r\nPING\r\n");
  EXPECT_EQ(read_n(a, 100), "+PONG\r\n+OK\r\n");
  ::close(a);
  int b = connect_client();
  send_all(b, "PING\r\n*1\r\n$x\r\n");
  std::string got = read_n(b, 1000);
  EXPECT_EQ(got.substr(0, 7), "+PONG\r\n");
  EXPECT_NE(got.find("-ERR Protocol error"), std::string::npos) << got;
  ::close(b);
  // The server goes on serving others.
  int c = connect_client();
  send_all(c, "PING\r\n");
  EXPECT_EQ(read_n(c, 7), "+PONG\r\n");
  ::close(c);
}

TEST_F(RespServerTest, AClientThatDoesNotReadIsDroppedPastTheOutputLimit) {
  resp::ServerOptions opt;
  opt.session.max_output_bytes = 1 << 20;
  opt.session.pause_output_bytes = 256 << 10;
  start(opt);
  int fd = connect_client();
  int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  send_all(fd, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$" + std::to_string(16 << 10) + "\r\n" + std::string(16 << 10, 'x') + "\r\n");
  EXPECT_EQ(read_n(fd, 5), "+OK\r\n");
  // 800 GETs of 16 KiB each (12.5 MiB of replies), never read: the server
  // does not buffer them without bound, it drops the client.
  std::string gets;
  for (int i = 0; i < 800; ++i) gets += "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
  send_all(fd, gets);
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(closed_by_server(fd));
  ::close(fd);
  // Others are served meanwhile.
  int other = connect_client();
  send_all(other, "PING\r\n");
  EXPECT_EQ(read_n(other, 7), "+PONG\r\n");
  ::close(other);
}

TEST_F(RespServerTest, MaxClientsRefusesWithRedissWords) {
  resp::ServerOptions opt;
  opt.max_clients = 1;
  start(opt);
  int a = connect_client();
  send_all(a, "PING\r\n");
  EXPECT_EQ(read_n(a, 7), "+PONG\r\n");
  int b = connect_client();
  EXPECT_EQ(read_n(b, 100), "-ERR max number of clients reached\r\n");
  ::close(b);
  ::close(a);
}

TEST_F(RespServerTest, StopWithClientsConnectedEndsTheirConnections) {
  start();
  int a = connect_client();
  int b = connect_client();
  send_all(a, "PING\r\n");
  EXPECT_EQ(read_n(a, 7), "+PONG\r\n");
  // A blocked read on b: the stop must end it too.
  send_all(b, "*6\r\n$5\r\nXREAD\r\n$5\r\nBLOCK\r\n$1\r\n0\r\n$7\r\nSTREAMS\r\n$1\r\nq\r\n$1\r\n$\r\n");
  std::this_thread::sleep_for(50ms);
  server_->stop();
  EXPECT_TRUE(closed_by_server(a));
  EXPECT_TRUE(closed_by_server(b));
  ::close(a);
  ::close(b);
}

}  // namespace
}  // namespace redcar::test
