// runtime/: the reactor's tasks, turn-end hooks and timers, its Boost.Asio
// executor, Task's storage, and TCP on the ring (a listener and a
// connection against plain blocking sockets on 127.0.0.1).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "runtime/buffer_ring.h"
#include "runtime/reactor.h"
#include "runtime/task.h"
#include "runtime/tcp.h"
#include "runtime/timer.h"

namespace redcar::runtime {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<Reactor> make() {
  std::unique_ptr<Reactor> r;
  EXPECT_EQ(Reactor::create({.ring_entries = 256}, &r), 0);
  return r;
}

template <typename P>
bool turn_until(Reactor& r, P done, std::chrono::milliseconds limit = 3000ms) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    r.run_for(2ms);
  }
  return true;
}

TEST(Task, SmallCallablesStayInsideLargeOnesGoToTheHeap) {
  int calls = 0;
  Task small([&calls] { ++calls; });
  Task moved = std::move(small);
  EXPECT_FALSE(small);
  moved();
  std::vector<char> big(1000, 'x');
  auto shared = std::make_shared<int>(7);
  Task large([big, shared, &calls] { calls += static_cast<int>(big.size()) + *shared; });
  EXPECT_EQ(shared.use_count(), 2);
  Task other = std::move(large);
  other();
  EXPECT_EQ(calls, 1 + 1000 + 7);
  other.reset();
  EXPECT_EQ(shared.use_count(), 1) << "the callable is destroyed with its task";
}

TEST(Reactor, PostsFromOtherThreadsWakeTheLoopAndRunInOrder) {
  std::unique_ptr<Reactor> r = make();
  std::vector<int> seen;
  std::thread poster([&] {
    for (int i = 0; i < 100; ++i) r->post([&seen, i] { seen.push_back(i); });
  });
  poster.join();
  ASSERT_TRUE(turn_until(*r, [&] { return seen.size() == 100; }));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(seen[i], i);
}

TEST(Reactor, PostsToAnotherLoopDuringATurnLeaveTogetherWhenItEnds) {
  std::unique_ptr<Reactor> a = make();
  std::unique_ptr<Reactor> b;
  std::atomic<bool> b_ready{false};
  std::thread b_thread([&] {
    b = make();
    b_ready = true;
    b->run();
  });
  while (!b_ready) std::this_thread::sleep_for(1ms);
  std::vector<int> seen;  // B's thread only
  std::atomic<size_t> seen_count{0};
  size_t seen_before_turn_end = 1;
  a->post([&] {
    for (int i = 0; i < 100; ++i) {
      b->post([&, i] {
        seen.push_back(i);
        seen_count = seen.size();
      });
    }
    // B is idle and would run a direct post at once; these wait for A's turn.
    std::this_thread::sleep_for(30ms);
    seen_before_turn_end = seen_count.load();
  });
  a->poll();
  auto until = std::chrono::steady_clock::now() + 3s;
  while (seen_count < 100 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
  // Outside a turn, a thread's post goes straight to the loop.
  std::atomic<bool> direct{false};
  b->post([&] { direct = true; });
  until = std::chrono::steady_clock::now() + 3s;
  while (!direct && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
  b->stop();
  b_thread.join();
  EXPECT_EQ(seen_before_turn_end, 0u);
  ASSERT_EQ(seen.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(seen[i], i);
  EXPECT_TRUE(direct);
}

TEST(Reactor, RunReturnsAfterStopFromAnotherThread) {
  std::unique_ptr<Reactor> r = make();
  std::atomic<bool> ran{false};
  std::thread other([&] {
    std::this_thread::sleep_for(20ms);
    r->post([&] { ran = true; });
    r->stop();
  });
  r->run();  // blocks in io_uring until the post and the stop wake it
  other.join();
  EXPECT_TRUE(r->stopped());
  r->poll();
  EXPECT_TRUE(ran);
}

TEST(Reactor, TurnEndHooksRunAfterTheTurnsTasks) {
  std::unique_ptr<Reactor> r = make();
  std::vector<std::string> order;
  r->post([&] {
    order.push_back("task 1");
    r->at_turn_end([&] { order.push_back("turn end"); });
  });
  r->post([&] { order.push_back("task 2"); });
  r->poll();
  EXPECT_EQ(order, (std::vector<std::string>{"task 1", "task 2", "turn end"}));
}

TEST(Reactor, TimersFireInDeadlineOrderAndCancelledOnesDoNot) {
  std::unique_ptr<Reactor> r = make();
  std::vector<int> fired;
  Timer late(*r), early(*r), cancelled(*r);
  // Before the timers start: a deadline counts from its start().
  auto t0 = std::chrono::steady_clock::now();
  late.start(30ms, [&] { fired.push_back(30); });
  early.start(10ms, [&] { fired.push_back(10); });
  cancelled.start(20ms, [&] { fired.push_back(20); });
  cancelled.cancel();
  EXPECT_FALSE(cancelled.pending());
  ASSERT_TRUE(turn_until(*r, [&] { return fired.size() == 2; }));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);
  EXPECT_EQ(fired, (std::vector<int>{10, 30}));
  r->run_for(30ms);
  EXPECT_EQ(fired.size(), 2u);
  {
    Timer gone(*r);
    gone.start(1ms, [&] { fired.push_back(1); });
  }  // destroyed: cancelled
  r->run_for(10ms);
  EXPECT_EQ(fired.size(), 2u);
}

TEST(Reactor, IsABoostAsioExecutionContext) {
  std::unique_ptr<Reactor> r = make();
  boost::asio::any_io_executor ex = r->get_executor();
  std::vector<std::string> order;
  boost::asio::post(ex, [&] { order.push_back("posted"); });
  boost::asio::post(*r, [&] {
    // On the loop's thread dispatch runs at once; post waits its turn.
    boost::asio::post(ex, [&] { order.push_back("posted inside"); });
    boost::asio::dispatch(ex, [&] { order.push_back("dispatched inside"); });
  });
  ASSERT_TRUE(turn_until(*r, [&] { return order.size() == 3; }));
  EXPECT_EQ(order, (std::vector<std::string>{"posted", "dispatched inside", "posted inside"}));
  std::thread other([&] { boost::asio::dispatch(ex, [&] { order.push_back("from afar"); }); });
  other.join();
  ASSERT_TRUE(turn_until(*r, [&] { return order.size() == 4; }));
}

// --- TCP ---------------------------------------------------------------------

int connect_to(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  // A reply that never comes fails the test instead of hanging it.
  timeval limit{.tv_sec = 10, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  return fd;
}

struct Echo final : TcpConnection::Handler {
  std::shared_ptr<TcpConnection> conn;
  std::string received;
  int drained = 0;
  bool closed = false;
  int error = 0;
  void on_data(std::span<const uint8_t> bytes) override {
    received.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    conn->out().append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    conn->flush();
  }
  void on_drained() override { ++drained; }
  void on_closed(int e) override {
    closed = true;
    error = e;
  }
};

struct TcpFixture {
  std::unique_ptr<Reactor> r = make();
  std::unique_ptr<BufferRing> buffers;
  std::unique_ptr<TcpListener> listener;
  std::vector<int> accepted;
  TcpFixture() {
    EXPECT_EQ(BufferRing::create(*r, 1, 64, 4096, &buffers), 0);
    EXPECT_EQ(TcpListener::open(*r, "127.0.0.1", 0, [this](int fd) { accepted.push_back(fd); }, &listener), 0);
  }
  ~TcpFixture() {
    bool done = false;
    listener->close([&] { done = true; });
    turn_until(*r, [&] { return done; });
  }
  Echo* echo(int fd) {
    auto* e = new Echo;
    e->conn = std::make_shared<TcpConnection>(*r, *buffers, fd);
    e->conn->start(e);
    return e;
  }
};

std::string read_n(int fd, size_t n) {
  std::string got;
  char buf[4096];
  while (got.size() < n) {
    ssize_t k = ::recv(fd, buf, sizeof(buf), 0);
    if (k <= 0) break;
    got.append(buf, static_cast<size_t>(k));
  }
  return got;
}

TEST(Tcp, AcceptReceiveSendAndPeerClose) {
  TcpFixture f;
  int client = connect_to(f.listener->port());
  ASSERT_TRUE(turn_until(*f.r, [&] { return f.accepted.size() == 1; }));
  std::unique_ptr<Echo> e(f.echo(f.accepted[0]));
  std::string msg(100000, 'a');  // more than one receive buffer, more than one send
  for (size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<char>('a' + i % 26);
  std::thread writer([&] { ASSERT_EQ(::send(client, msg.data(), msg.size(), 0), static_cast<ssize_t>(msg.size())); });
  std::string echoed;
  std::thread reader([&] { echoed = read_n(client, msg.size()); });
  ASSERT_TRUE(turn_until(*f.r, [&] { return e->received.size() == msg.size() && e->conn->output_bytes() == 0; }));
  writer.join();
  reader.join();
  EXPECT_EQ(e->received, msg);
  EXPECT_EQ(echoed, msg);
  EXPECT_GE(e->drained, 1);
  ::close(client);
  ASSERT_TRUE(turn_until(*f.r, [&] { return e->closed; }));
  EXPECT_EQ(e->error, 0);
}

TEST(Tcp, PausedReadingReceivesNothingUntilResumed) {
  TcpFixture f;
  int client = connect_to(f.listener->port());
  ASSERT_TRUE(turn_until(*f.r, [&] { return f.accepted.size() == 1; }));
  std::unique_ptr<Echo> e(f.echo(f.accepted[0]));
  f.r->poll();
  e->conn->pause_reading();
  f.r->run_for(10ms);
  ASSERT_EQ(::send(client, "ping", 4, 0), 4);
  f.r->run_for(50ms);
  EXPECT_EQ(e->received, "") << "nothing read while paused";
  e->conn->resume_reading();
  // The echo is sent at the end of the turn that read it: turn until it left.
  ASSERT_TRUE(turn_until(*f.r, [&] { return e->received == "ping" && e->conn->output_bytes() == 0; }));
  EXPECT_EQ(read_n(client, 4), "ping");
  e->conn->close();
  ASSERT_TRUE(turn_until(*f.r, [&] { return e->closed; }));
  char b;
  EXPECT_EQ(::recv(client, &b, 1, 0), 0) << "the server's close reaches the client";
  ::close(client);
}

TEST(Tcp, CloseAfterFlushSendsWhatIsQueuedFirst) {
  TcpFixture f;
  int client = connect_to(f.listener->port());
  ASSERT_TRUE(turn_until(*f.r, [&] { return f.accepted.size() == 1; }));
  std::unique_ptr<Echo> e(f.echo(f.accepted[0]));
  e->conn->out() = "+BYE\r\n";
  e->conn->close_after_flush();
  ASSERT_TRUE(turn_until(*f.r, [&] { return e->closed; }));
  EXPECT_EQ(read_n(client, 100), "+BYE\r\n");
  ::close(client);
}

}  // namespace
}  // namespace redcar::runtime
