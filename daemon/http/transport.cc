// SPDX-License-Identifier: Apache-2.0
#include "daemon/http/transport.h"

#include <fmt/format.h>
#include <sys/resource.h>

#include <array>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <list>
#include <mutex>
#include <optional>
#include <thread>

#include "daemon/http/gzip.h"
#include "daemon/worker_pool.h"
#include "shmstats/error.h"

namespace shmstats::daemon {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

// Bodies smaller than this go as they are: gzip's 18-byte frame and the CPU buy nothing.
constexpr size_t kGzipFrom = 1024;

// Runs the handler, then compresses its body when the client accepts gzip (on the
// lane's thread: a 12 MB /metrics takes tens of milliseconds, never on the I/O threads
// but for the small inline bodies).
void RunHandler(const HttpRoute& route, const HttpRequest& req, HttpResponse& res) {
  try {
    route.handler(req, res);
    const std::string& body = res.shared_body ? *res.shared_body : res.body;
    if (body.size() < kGzipFrom) return;
    res.headers.emplace_back("Vary", "Accept-Encoding");
    if (!AcceptsGzip(req.Header("Accept-Encoding"))) return;
    res.body = Gzip(body);
    res.shared_body.reset();
    res.headers.emplace_back("Content-Encoding", "gzip");
  } catch (const std::exception& e) {
    res = {};
    res.Set(500, fmt::format("internal error: {}\n", e.what()));
  }
}

// Closes a connection without losing the answer just written to it. close() with
// request bytes still unread makes the kernel send a reset, which a client still
// sending its request (a large body, say) sees as a failed send before it reads
// the answer. So: shut the send side (the client reads the answer to its end),
// discard what the client still sends, for at most kDrainBytes or kDrainTime, then
// close.
class Drain : public std::enable_shared_from_this<Drain> {
 public:
  static constexpr size_t kDrainBytes = 1 << 20;
  static constexpr std::chrono::seconds kDrainTime{1};

  static void Close(tcp::socket socket) {
    beast::error_code ec;
    socket.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return;  // already reset or closed: nothing to protect
    auto self = std::make_shared<Drain>(std::move(socket));
    self->stream_.expires_after(kDrainTime);
    self->Next();
  }

  explicit Drain(tcp::socket socket) : stream_(std::move(socket)) {}

 private:
  void Next() {
    stream_.async_read_some(net::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->read_ += n;
                              // EOF, an error, the deadline or the byte bound: close.
                              if (!ec && self->read_ < kDrainBytes) self->Next();
                            });
  }

  beast::tcp_stream stream_;
  std::array<char, 4096> scratch_;
  size_t read_ = 0;
};

class Session;

}  // namespace

size_t ConnectionCap(size_t wanted, size_t reserve) {
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) != 0) return wanted;
  if (nofile.rlim_cur < nofile.rlim_max) {
    rlimit raised{nofile.rlim_max, nofile.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) nofile = raised;
  }
  if (nofile.rlim_cur == RLIM_INFINITY) return wanted;
  size_t room = nofile.rlim_cur > 2 * reserve ? nofile.rlim_cur - reserve : nofile.rlim_cur / 2;
  return std::min(wanted, room);
}

struct HttpTransport::Impl {
  Impl(std::vector<HttpRoute> r, HttpLimits l, const std::atomic<bool>& s)
      : routes(std::move(r)),
        limits(l),
        stopping(s),
        scrape(l.scrape_threads, l.scrape_queue),
        query(l.query_threads, l.query_queue) {}

  void Accept();
  // The connection idle longest, taken out of the idle list, or null.
  std::shared_ptr<Session> TakeOldestIdle();

  // Declared first, destroyed last: sessions destroyed with the io_context count down
  // and leave the idle list.
  std::atomic<size_t> connections{0};
  std::mutex idle_mu;
  std::list<std::weak_ptr<Session>>
      idle;  // kept-alive connections awaiting a request, oldest first
  std::atomic<uint64_t> idle_closed{0}, refused{0};
  net::io_context ioc;
  const std::vector<HttpRoute> routes;
  const HttpLimits limits;
  const std::atomic<bool>& stopping;
  tcp::acceptor acceptor{ioc};
  net::steady_timer retry{ioc};
  WorkerPool scrape;
  WorkerPool query;
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpTransport::Impl& impl) : stream_(std::move(socket)), impl_(impl) {
    impl_.connections.fetch_add(1);
  }
  ~Session() {
    LeaveIdle();
    impl_.connections.fetch_sub(1);
  }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
  }

  // With impl_.idle_mu held, while idle: takes it out of the idle list and closes
  // it on its own strand (its pending read ends, and the session with it).
  void EvictLocked() {
    impl_.idle.erase(idle_at_);
    idle_ = false;
    evicted_ = true;
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      self->stream_.socket().close(ec);
    });
  }

 private:
  void EnterIdle() {
    std::lock_guard lock(impl_.idle_mu);
    idle_at_ = impl_.idle.insert(impl_.idle.end(), weak_from_this());
    idle_ = true;
  }
  // False if it was evicted meanwhile: the connection is being closed.
  bool LeaveIdle() {
    std::lock_guard lock(impl_.idle_mu);
    if (idle_) impl_.idle.erase(idle_at_);
    idle_ = false;
    return !evicted_;
  }

  // Waits for the next request on a kept-alive connection: up to idle_timeout for
  // its first byte (an idle connection costs no thread), then request_deadline for
  // the whole of it. A fresh connection gets request_deadline from the start.
  void AwaitNext() {
    if (buffer_.size() > 0) return Read();  // pipelined: already here
    stream_.expires_after(impl_.limits.idle_timeout);
    EnterIdle();
    stream_.async_read_some(buffer_.prepare(kFirstRead),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              // Closed by the client, idle too long, or evicted.
                              if (!self->LeaveIdle() || ec) return;
                              self->buffer_.commit(n);
                              self->Read();
                            });
  }

  void Read() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(impl_.limits.max_request_bytes));
    parser_->body_limit(impl_.limits.max_request_bytes);
    // One deadline for the whole request, however slowly its bytes trickle in.
    stream_.expires_after(impl_.limits.request_deadline);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    head_ = false;
    if (ec == http::error::header_limit || ec == http::error::body_limit) {
      keep_alive_ = false;
      HttpResponse res;
      res.Set(ec == http::error::header_limit ? 431 : 413,
              fmt::format("request larger than {} bytes\n", impl_.limits.max_request_bytes));
      return Write(std::move(res));
    }
    if (ec) return;  // closed, reset, malformed or past its deadline: drop the connection
    auto& msg = parser_->get();
    version_ = msg.version();
    keep_alive_ = msg.keep_alive();
    auto req = std::make_shared<HttpRequest>();
    req->method = std::string(msg.method_string());
    std::string_view target(msg.target().data(), msg.target().size());
    size_t q = target.find('?');
    req->path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) req->params = ParseQuery(target.substr(q + 1));
    for (const auto& field : msg) {
      req->headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    req->body = std::move(msg.body());
    req->received = std::chrono::steady_clock::now();

    const HttpRoute* route = nullptr;
    std::string allow;
    // HEAD is answered by the GET route, with its headers and no body (RFC 9110 9.3.2).
    head_ = req->method == "HEAD";
    for (const auto& r : impl_.routes) {
      if (r.path != req->path) continue;
      if (r.method == req->method || (head_ && r.method == "GET")) route = &r;
      allow += allow.empty() ? std::string(r.method) : ", " + std::string(r.method);
      if (r.method == "GET") allow += ", HEAD";
    }
    HttpResponse res;
    if (!route) {
      if (allow.empty()) {
        res.Set(404, "not found\n");
      } else {
        res.Set(405, fmt::format("method {} not allowed here: use {}\n", req->method, allow));
        res.headers.emplace_back("Allow", allow);
      }
      return Write(std::move(res));
    }
    if (impl_.stopping) {
      res.Set(503, "shutting down\n");
      return Write(std::move(res));
    }
    if (route->lane == Lane::kInline) {
      RunHandler(*route, *req, res);
      return Write(std::move(res));
    }
    auto& pool = route->lane == Lane::kScrape ? impl_.scrape : impl_.query;
    bool queued = pool.TryPost([self = shared_from_this(), route, req] {
      HttpResponse out;
      RunHandler(*route, *req, out);
      net::post(self->stream_.get_executor(),
                [self, out = std::move(out)]() mutable { self->Write(std::move(out)); });
    });
    if (!queued) {
      res.Set(503, fmt::format("busy: too many {} requests waiting; retry later\n", req->path));
      res.headers.emplace_back("Retry-After", "1");
      Write(std::move(res));
    }
  }

  void Write(HttpResponse res) {
    // The body is sent from where it is (a span), kept alive until it is written.
    auto body = res.shared_body ? std::move(res.shared_body)
                                : std::make_shared<const std::string>(std::move(res.body));
    auto msg = std::make_shared<http::response<http::span_body<const char>>>(
        static_cast<http::status>(res.status), version_);
    msg->set(http::field::server, "shmstatsd");
    msg->set(http::field::content_type, res.content_type);
    for (auto& [name, value] : res.headers) msg->insert(name, value);
    msg->keep_alive(keep_alive_);
    if (head_) {
      msg->content_length(body->size());  // what GET would send; no body
    } else {
      msg->body() = {body->data(), body->size()};
      msg->prepare_payload();
    }
    stream_.expires_after(impl_.limits.request_deadline);
    http::async_write(stream_, *msg,
                      [self = shared_from_this(), msg, body](beast::error_code ec, size_t) {
                        self->OnWrite(ec, msg->need_eof());
                      });
  }

  void OnWrite(beast::error_code ec, bool close) {
    if (ec) return;
    if (close) return Drain::Close(stream_.release_socket());
    AwaitNext();
  }

  static constexpr size_t kFirstRead = 4096;

  beast::tcp_stream stream_;
  HttpTransport::Impl& impl_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_ = false;  // the request being answered is a HEAD
  // In impl_.idle (at idle_at_) while awaiting a kept-alive request; guarded by
  // impl_.idle_mu, as evicted_ is.
  bool idle_ = false;
  bool evicted_ = false;
  std::list<std::weak_ptr<Session>>::iterator idle_at_;
};

}  // namespace

void HttpTransport::Impl::Accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
    if (ec) {  // out of descriptors, for example: try again shortly rather than spin
      retry.expires_after(std::chrono::milliseconds(100));
      retry.async_wait([this](beast::error_code e) {
        if (!e) Accept();
      });
      return;
    }
    std::shared_ptr<Session> oldest;
    if (connections.load() >= limits.max_connections && (oldest = TakeOldestIdle())) {
      idle_closed.fetch_add(1, std::memory_order_relaxed);  // its room goes to the new one
    }
    if (connections.load() >= limits.max_connections && !oldest) {
      refused.fetch_add(1, std::memory_order_relaxed);
      static constexpr std::string_view kBusy =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nRetry-After: 1\r\n"
          "Connection: close\r\nContent-Length: 22\r\n\r\ntoo many connections\r\n";
      socket.non_blocking(true, ec);
      socket.write_some(net::buffer(kBusy.data(), kBusy.size()), ec);
      if (!ec) Drain::Close(std::move(socket));
    } else {
      std::make_shared<Session>(std::move(socket), *this)->Start();
    }
    Accept();
  });
}

std::shared_ptr<Session> HttpTransport::Impl::TakeOldestIdle() {
  std::lock_guard lock(idle_mu);
  for (auto& entry : idle) {
    // Null: being destroyed, it leaves the list itself (waiting for this lock).
    if (auto session = entry.lock()) {
      session->EvictLocked();
      return session;
    }
  }
  return nullptr;
}

uint64_t HttpTransport::idle_closed() const { return impl_->idle_closed.load(); }
uint64_t HttpTransport::refused() const { return impl_->refused.load(); }
size_t HttpTransport::idle() const {
  std::lock_guard lock(impl_->idle_mu);
  return impl_->idle.size();
}
size_t HttpTransport::connections() const { return impl_->connections.load(); }

HttpTransport::HttpTransport(std::vector<HttpRoute> routes, HttpLimits limits)
    : impl_(std::make_unique<Impl>(std::move(routes), limits, stopping_)) {}

HttpTransport::~HttpTransport() { Stop(); }

int HttpTransport::Bind(const std::string& host, int port, const std::string& what) {
  beast::error_code ec;
  tcp::resolver resolver(impl_->ioc);
  auto endpoints = resolver.resolve(host, std::to_string(port),
                                    tcp::resolver::numeric_service | tcp::resolver::passive, ec);
  for (const auto& entry : endpoints) {
    auto& acceptor = impl_->acceptor;
    acceptor.close(ec);
    acceptor.open(entry.endpoint().protocol(), ec);
    if (ec) continue;
    acceptor.set_option(net::socket_base::reuse_address(true), ec);
    acceptor.bind(entry.endpoint(), ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (!ec) {
      auto local = acceptor.local_endpoint(ec);
      if (!ec) return local.port();
    }
  }
  impl_->acceptor.close(ec);
  throw Error(Errc::kSystem,
              fmt::format("cannot listen on {} (in use, or not a local address?)", what));
}

size_t HttpTransport::Waiting(Lane lane) const {
  if (lane == Lane::kInline) return 0;
  return (lane == Lane::kScrape ? impl_->scrape : impl_->query).Waiting();
}

void HttpTransport::Serve() {
  net::post(impl_->ioc, [this] { impl_->Accept(); });
  std::vector<std::thread> threads;
  for (int i = 1; i < impl_->limits.io_threads; ++i) {
    threads.emplace_back([this] { impl_->ioc.run(); });
  }
  impl_->ioc.run();
  for (auto& t : threads) t.join();
}

void HttpTransport::Stop() {
  stopping_ = true;
  impl_->scrape.Stop();
  impl_->query.Stop();
  impl_->ioc.stop();
}

}  // namespace shmstats::daemon
