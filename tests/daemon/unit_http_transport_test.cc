// SPDX-License-Identifier: Apache-2.0
// shmstatsd's HTTP transport in-process (daemon/http/transport.h), on loopback with
// raw sockets so that every byte on the wire is the test's: a full query lane answers
// 503 with Retry-After at once while /healthz still answers; a refused request's
// answer reaches a client still sending its request (graceful close, no RST); an
// idle keep-alive connection outlives the request deadline while a slow request
// does not. And a history query over a real SQLite store past its time budget: 503.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <condition_variable>
#include <mutex>

#include "daemon/http/history.h"
#include "daemon/http/transport.h"
#include "daemon_harness.h"
#include "history/store.h"
#include "history/time.h"
#include "history_samples.h"

namespace shmstats::daemon {
namespace {

using shmstats::testing::ConnectLoopback;
using shmstats::testing::TempDir;
using shmstats::testing::WaitFor;
using namespace std::chrono_literals;

// errno of the first failed send, or 0 when every byte was sent.
int SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) return errno;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

struct Reply {
  int status = 0;  // 0: the connection closed (or failed) before a whole response
  std::string head, body;
  int error = 0;  // errno of a failed recv
};

// Reads one response (status line, headers, Content-Length body) within `timeout`.
Reply ReadReply(int fd, std::chrono::milliseconds timeout = 10s) {
  Reply r;
  std::string in;
  auto end = std::chrono::steady_clock::now() + timeout;
  size_t want = std::string::npos;
  for (;;) {
    size_t head_end = in.find("\r\n\r\n");
    if (head_end != std::string::npos && want == std::string::npos) {
      r.head = in.substr(0, head_end + 4);
      std::string lower;
      for (char c : r.head) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t cl = lower.find("content-length:");
      want = head_end + 4 + (cl == std::string::npos ? 0 : std::stoul(r.head.substr(cl + 15)));
    }
    if (want != std::string::npos && in.size() >= want) {
      r.body = in.substr(r.head.size(), want - r.head.size());
      r.status = std::stoi(r.head.substr(9, 3));
      return r;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) return r;
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) r.error = errno;
    if (n <= 0) return r;
    in.append(buf, static_cast<size_t>(n));
  }
}

// True once the peer closed the connection (EOF or reset) within `timeout`; data
// that arrives meanwhile is discarded.
bool ClosedWithin(int fd, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[4096];
    if (recv(fd, buf, sizeof buf, 0) <= 0) return true;
  }
}

std::string GetRequest(const std::string& path) {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
}

// A transport serving on a loopback port the kernel chose, from its own thread;
// stopped at the end.
class Server {
 public:
  Server(std::vector<HttpRoute> routes, HttpLimits limits)
      : transport_(std::move(routes), limits),
        port_(transport_.Bind("127.0.0.1", 0, "the test's port")) {
    thread_ = std::thread([this] { transport_.Serve(); });
  }
  ~Server() {
    transport_.Stop();
    thread_.join();
  }
  int port() const { return port_; }
  HttpTransport& transport() { return transport_; }

 private:
  HttpTransport transport_;
  int port_;
  std::thread thread_;
};

HttpRoute Healthz() {
  return {"GET", "/healthz", Lane::kInline,
          [](const HttpRequest&, HttpResponse& res) { res.Set(200, "ok\n"); }};
}

// A handler on the query lane that holds its thread until released (or 20 s pass).
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  int entered = 0;
  bool open = false;

  HttpRoute Route() {
    return {"GET", "/stats/history", Lane::kQuery, [this](const HttpRequest&, HttpResponse& res) {
              std::unique_lock lock(mu);
              ++entered;
              cv.notify_all();
              cv.wait_for(lock, 20s, [&] { return open; });
              res.Set(200, "done\n");
            }};
  }
  int Entered() {
    std::lock_guard lock(mu);
    return entered;
  }
  void Open() {
    std::lock_guard lock(mu);
    open = true;
    cv.notify_all();
  }
};

TEST(HttpTransportTest, QueryLaneBeyondItsQueueAnswers503WithRetryAfterAtOnce) {
  Gate gate;
  HttpLimits limits;
  limits.query_threads = 1;
  limits.query_queue = 1;
  Server server({Healthz(), gate.Route()}, limits);

  int running = ConnectLoopback(server.port());  // takes the lane's only thread
  ASSERT_GE(running, 0);
  ASSERT_EQ(SendAll(running, GetRequest("/stats/history")), 0);
  ASSERT_TRUE(WaitFor([&] { return gate.Entered() == 1; }, 10));
  int queued = ConnectLoopback(server.port());  // takes the queue's only place
  ASSERT_EQ(SendAll(queued, GetRequest("/stats/history")), 0);
  ASSERT_TRUE(WaitFor([&] { return server.transport().Waiting(Lane::kQuery) == 1; }, 10));
  // Every further query is refused while the first still holds the thread (the gate
  // is closed, so "at once" means: answered before anything was let through).
  for (int i = 0; i < 3; ++i) {
    int refused = ConnectLoopback(server.port());
    ASSERT_EQ(SendAll(refused, GetRequest("/stats/history?i=" + std::to_string(i))), 0);
    Reply r = ReadReply(refused);
    EXPECT_EQ(r.status, 503) << r.head << r.body;
    EXPECT_NE(r.head.find("Retry-After: 1\r\n"), std::string::npos) << r.head;
    EXPECT_NE(r.body.find("too many /stats/history requests waiting"), std::string::npos) << r.body;
    close(refused);
  }
  // The inline lane is unaffected.
  int health = ConnectLoopback(server.port());
  ASSERT_EQ(SendAll(health, GetRequest("/healthz")), 0);
  EXPECT_EQ(ReadReply(health).status, 200);
  close(health);
  EXPECT_EQ(gate.Entered(), 1);

  gate.Open();  // the running and the queued query complete
  EXPECT_EQ(ReadReply(running).status, 200);
  EXPECT_EQ(ReadReply(queued).status, 200);
  EXPECT_EQ(gate.Entered(), 2);
  close(running);
  close(queued);
}

// A request body well over the 64 KiB request limit, as a client would send it
// before reading any answer.
std::string BigPost(size_t body_bytes) {
  return "POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
         "Content-Length: " +
         std::to_string(body_bytes) + "\r\n\r\n" + std::string(body_bytes, 'x');
}

// Sends a 512 KiB POST whole, as a client would before reading any answer, then
// reads the answer: `status` with `text` in its body, then the end of the connection.
void ExpectRefusalRead(int port, int status, std::string_view text) {
  for (int i = 0; i < 3; ++i) {
    int fd = ConnectLoopback(port);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(SendAll(fd, BigPost(512 * 1024)), 0) << "the server reset the connection";
    Reply r = ReadReply(fd);
    EXPECT_EQ(r.status, status) << "errno " << r.error;
    EXPECT_NE(r.body.find(text), std::string::npos) << r.body;
    EXPECT_TRUE(ClosedWithin(fd, 10s));
    close(fd);
  }
}

TEST(HttpTransportTest, ARefusedClientStillSendingItsRequestReadsTheAnswer) {
  HttpLimits limits;
  limits.max_connections = 1;
  Server server({Healthz()}, limits);
  // Over the request size limit: 413, and the connection closes, but only after the
  // client's bytes were read, so that the answer is not lost to a reset.
  ExpectRefusalRead(server.port(), 413, "request larger than 65536 bytes");
  // Their clients saw the close; the server counts each until its session is gone.
  ASSERT_TRUE(WaitFor([&] { return server.transport().connections() == 0; }, 10));

  // Over max_connections with none idle (the one allowed is accepted, its request
  // not yet sent): 503 at once, read whole by a client that was sending.
  int held = ConnectLoopback(server.port());
  ExpectRefusalRead(server.port(), 503, "too many connections");
  EXPECT_EQ(server.transport().refused(), 3u);  // ExpectRefusalRead's three
  ASSERT_EQ(SendAll(held, GetRequest("/healthz")), 0);
  EXPECT_EQ(ReadReply(held).status, 200);  // the held one was served all along
  close(held);
}

// At the cap, a new connection takes the place of the one idle longest: whoever
// holds idle keep-alive connections cannot keep a new client out.
TEST(HttpTransportTest, AtTheCapTheOldestIdleConnectionGivesWayToANewOne) {
  HttpLimits limits;
  limits.max_connections = 4;
  Server server({Healthz()}, limits);
  std::vector<int> held;
  // Each answered, then idle: oldest first. A client reads its answer before the
  // server has put the connection in its idle list, so each waits to be there.
  for (size_t i = 0; i < 4; ++i) {
    held.push_back(ConnectLoopback(server.port()));
    ASSERT_EQ(SendAll(held.back(), GetRequest("/healthz")), 0);
    ASSERT_EQ(ReadReply(held.back()).status, 200);
    ASSERT_TRUE(WaitFor([&] { return server.transport().idle() == i + 1; }, 10));
  }
  for (int round = 0; round < 2; ++round) {
    int fresh = ConnectLoopback(server.port());
    ASSERT_EQ(SendAll(fresh, GetRequest("/healthz")), 0);
    EXPECT_EQ(ReadReply(fresh).status, 200) << "round " << round;
    EXPECT_TRUE(ClosedWithin(held[round], 10s)) << "the oldest idle connection was kept";
    held.push_back(fresh);  // kept: the next round is at the cap again
    ASSERT_TRUE(WaitFor([&] { return server.transport().idle_closed() == round + 1u; }, 10));
    ASSERT_TRUE(WaitFor([&] { return server.transport().idle() == 4; }, 10));
  }
  for (int i = 2; i < 4; ++i) {  // the younger ones were left alone
    ASSERT_EQ(SendAll(held[i], GetRequest("/healthz")), 0);
    EXPECT_EQ(ReadReply(held[i]).status, 200) << "connection " << i;
  }
  EXPECT_EQ(server.transport().refused(), 0u);
  for (int fd : held) close(fd);
}

TEST(HttpTransportTest, IdleKeepAliveOutlivesTheRequestDeadlineASlowRequestDoesNot) {
  HttpLimits limits;
  limits.request_deadline = 500ms;
  limits.idle_timeout = 2s;
  Server server({Healthz()}, limits);

  // Idle between requests for longer than the request deadline: still open.
  int idle = ConnectLoopback(server.port());
  ASSERT_EQ(SendAll(idle, GetRequest("/healthz")), 0);
  ASSERT_EQ(ReadReply(idle).status, 200);
  EXPECT_FALSE(ClosedWithin(idle, 1200ms)) << "idle keep-alive connection cut";
  ASSERT_EQ(SendAll(idle, GetRequest("/healthz")), 0);
  EXPECT_EQ(ReadReply(idle).status, 200);

  // A request trickling in on a kept-alive connection: cut by the request deadline,
  // never answered.
  int slow = ConnectLoopback(server.port());
  ASSERT_EQ(SendAll(slow, GetRequest("/healthz")), 0);
  ASSERT_EQ(ReadReply(slow).status, 200);
  std::string request = GetRequest("/healthz");
  bool cut = false;
  for (size_t i = 0; i < 200 && !cut; ++i) {     // at most 20 s: a byte every 100 ms, repeated
    char c = request[i % (request.size() - 2)];  // never the final CRLF: never complete
    cut = send(slow, &c, 1, MSG_NOSIGNAL) != 1 || ClosedWithin(slow, 100ms);
  }
  EXPECT_TRUE(cut) << "a request trickling in for 20 s was not cut";
  close(slow);

  // A fresh connection that sends nothing: cut by the request deadline too.
  int silent = ConnectLoopback(server.port());
  EXPECT_TRUE(ClosedWithin(silent, 10s));
  close(silent);

  // The idle connection, idle past idle_timeout: closed.
  EXPECT_TRUE(ClosedWithin(idle, 10s));
  close(idle);
}

TEST(HttpHistoryTest, AQueryPastItsTimeBudgetAnswers503) {
  TempDir dir;
  std::string db = dir / "history.db";
  constexpr int kSeries = 300, kTicks = 120;
  const int64_t now = history::NowMs() / 60'000 * 60'000;
  {
    auto writer = history::OpenWriter(db);
    history::StoreWriter& w = *writer;
    for (int t = kTicks; t > 0; --t) {
      history::TickRecord tick{now - t * 60'000, 60'000, {}};
      for (int s = 0; s < kSeries; ++s) {
        tick.samples.push_back(history::test::Counter("budget_total", static_cast<uint64_t>(t + s),
                                                      {{"shard", std::to_string(s)}}));
      }
      w.Write(tick, {});
    }
  }
  HttpRequest req;
  req.method = "GET";
  req.path = "/stats/history";
  req.params = {{"metric", "budget_total"}, {"from", "-3h"}, {"step", "1m"}};
  auto never = [] { return false; };

  HttpResponse ok;
  ServeHistory(db, HistoryLimits{}, never, req, ok);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_NE(ok.body.find("\"shard\":\"299\""), std::string::npos);

  HistoryLimits tiny;
  tiny.budget = 1ms;
  HttpResponse spent;
  ServeHistory(db, tiny, never, req, spent);
  EXPECT_EQ(spent.status, 503) << spent.body.substr(0, 200);
  EXPECT_NE(spent.body.find("ran past its 1 ms budget"), std::string::npos) << spent.body;

  // And a daemon that is stopping gives up the same way.
  HttpResponse stopping;
  ServeHistory(
      db, HistoryLimits{}, [] { return true; }, req, stopping);
  EXPECT_EQ(stopping.status, 503);
  EXPECT_EQ(stopping.body, "shutting down\n");
}

}  // namespace
}  // namespace shmstats::daemon
