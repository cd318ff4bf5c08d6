// SPDX-License-Identifier: Apache-2.0
#include "daemon/push/http_client.h"

#include <fmt/format.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "shmstats/error.h"

namespace shmstats::daemon {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

HttpUrl ParseHttpUrl(const std::string& url) {
  auto bad = [&](const char* why) {
    return Error(Errc::kInvalidArgument,
                 fmt::format("invalid URL '{}': {}; use http://HOST[:PORT]/PATH, e.g. "
                             "http://127.0.0.1:9090/api/v1/write",
                             url, why));
  };
  const std::string_view scheme = "http://";
  if (url.starts_with("https://")) throw bad("https is not supported (use a local TLS proxy)");
  if (!url.starts_with(scheme)) throw bad("it does not start with http://");
  HttpUrl u;
  u.text = url;
  std::string_view rest = std::string_view(url).substr(scheme.size());
  size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    u.target = std::string(rest.substr(slash));
    if (u.target.front() == '?') u.target.insert(0, "/");
  }
  if (authority.find('@') != std::string_view::npos) throw bad("credentials are not supported");
  std::string_view port;
  if (authority.starts_with("[")) {  // [IPv6]:port
    size_t close = authority.find(']');
    if (close == std::string_view::npos) throw bad("unclosed [");
    u.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') throw bad("junk after ]");
    if (!after.empty()) port = after.substr(1);
  } else {
    size_t colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (u.host.empty()) throw bad("no host");
  if (u.target.find_first_of(" \r\n") != std::string::npos) throw bad("a space in the path");
  if (port.data() != nullptr && (port.empty() || port.size() > 5 ||
                                 port.find_first_not_of("0123456789") != std::string_view::npos ||
                                 std::stoi(std::string(port)) > 65535)) {
    throw bad("a bad port");
  }
  u.port = port.empty() ? "80" : std::string(port);
  return u;
}

struct HttpClient::Impl {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  bool connected = false;
  std::atomic<bool> cancelled{false};

  // Runs one asynchronous operation to its end on this thread (the stream's own
  // deadline bounds it; `limit` bounds what the stream's does not, e.g. resolving).
  template <class Start>
  error_code Await(Start&& start, std::chrono::milliseconds limit) {
    error_code result = asio::error::would_block;
    ioc.restart();
    start([&](error_code ec, auto&&...) { result = ec; });
    ioc.run_for(limit);
    if (result == asio::error::would_block) {  // not finished in time: cancel it
      beast::get_lowest_layer(stream).socket().cancel();
      ioc.run();
      result = asio::error::timed_out;
    }
    return result;
  }

  void Close() {
    error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    stream.close();
    buffer.clear();
    connected = false;
  }
};

HttpClient::HttpClient(HttpUrl url) : url_(std::move(url)), impl_(std::make_unique<Impl>()) {}

HttpClient::~HttpClient() = default;

void HttpClient::Cancel() {
  impl_->cancelled = true;
  // Runs on the thread in Post (or at the start of its next operation): the socket's
  // operations end with operation_aborted.
  asio::post(impl_->ioc, [impl = impl_.get()] {
    error_code ignored;
    beast::get_lowest_layer(impl->stream).socket().cancel(ignored);
  });
}

HttpReply HttpClient::Post(const std::string& body,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           std::chrono::milliseconds timeout) {
  if (impl_->cancelled) throw Error(Errc::kSystem, fmt::format("{}: cancelled", url_.text));
  if (impl_->connected) {
    try {
      return Exchange(body, headers, timeout);
    } catch (const Error& e) {
      // A slow server or a cancel, not a connection the server closed.
      if (e.code() == Errc::kTimeout || impl_->cancelled) throw;
    }
  }
  return Exchange(body, headers, timeout);
}

HttpReply HttpClient::Exchange(const std::string& body,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               std::chrono::milliseconds timeout) {
  Impl& s = *impl_;
  auto fail = [&](const char* what, error_code ec) {
    s.Close();
    bool timed_out = ec == asio::error::timed_out || ec == beast::error::timeout;
    return Error(timed_out ? Errc::kTimeout : Errc::kSystem,
                 fmt::format("{} {}: {}", what, url_.text, timed_out ? "timed out" : ec.message()));
  };
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto left = [&] {
    return std::max(std::chrono::milliseconds(1),
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now()));
  };
  if (!s.connected) {
    asio::ip::tcp::resolver resolver(s.ioc);
    asio::ip::tcp::resolver::results_type endpoints;
    error_code ec = s.Await(
        [&](auto handler) {
          resolver.async_resolve(url_.host, url_.port,
                                 [&, handler](error_code e, auto results) mutable {
                                   endpoints = results;
                                   handler(e);
                                 });
        },
        left());
    if (ec) {
      resolver.cancel();
      throw fail("resolving", ec);
    }
    s.stream.expires_after(left());
    ec = s.Await([&](auto handler) { s.stream.async_connect(endpoints, handler); }, left());
    if (ec) throw fail("connecting to", ec);
    s.connected = true;
  }
  http::request<http::string_body> req{http::verb::post, url_.target, 11};
  req.set(http::field::host, url_.host);
  req.set(http::field::user_agent, "shmstatsd/" SHMSTATS_VERSION);
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  s.stream.expires_after(left());
  error_code ec = s.Await([&](auto handler) { http::async_write(s.stream, req, handler); }, left());
  if (ec) throw fail("sending to", ec);
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024);
  s.stream.expires_after(left());
  ec =
      s.Await([&](auto handler) { http::async_read(s.stream, s.buffer, parser, handler); }, left());
  if (ec == http::error::body_limit) ec = {};  // the status is what matters
  if (ec) throw fail("reading the reply of", ec);
  HttpReply reply;
  reply.status = static_cast<int>(parser.get().result_int());
  reply.body = std::move(parser.get().body());
  if (!parser.get().keep_alive() || !parser.is_done()) s.Close();
  return reply;
}

}  // namespace shmstats::daemon
