// SPDX-License-Identifier: Apache-2.0
#include "daemon/push/http_client.h"

#include <fmt/format.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

#include "shmstats/error.h"

namespace shmstats::daemon {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using boost::system::error_code;

HttpUrl ParseHttpUrl(const std::string& url) {
  auto bad = [&](const char* why) {
    return Error(Errc::kInvalidArgument,
                 fmt::format("invalid URL '{}': {}; use http[s]://HOST[:PORT]/PATH, e.g. "
                             "https://127.0.0.1:9090/api/v1/write",
                             url, why));
  };
  HttpUrl u;
  u.tls = url.starts_with("https://");
  const std::string_view scheme = u.tls ? "https://" : "http://";
  if (!url.starts_with(scheme)) throw bad("it does not start with http:// or https://");
  u.text = url;
  std::string_view rest = std::string_view(url).substr(scheme.size());
  size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    u.target = std::string(rest.substr(slash));
    if (u.target.front() == '?') u.target.insert(0, "/");
  }
  if (authority.find('@') != std::string_view::npos) {
    throw bad(
        "credentials in the URL are refused (ps would show them): use the username and "
        "password or bearer token files");
  }
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
  u.port = port.empty() ? (u.tls ? "443" : "80") : std::string(port);
  return u;
}

struct HttpClient::Impl {
  asio::io_context ioc;
  std::optional<ssl::context> tls;  // https:// only
  // One of them, made anew for each connection (an SSL stream is not reusable).
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  bool connected = false;
  std::atomic<bool> cancelled{false};

  beast::tcp_stream& Tcp() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  // Runs one asynchronous operation to its end on this thread (the stream's own
  // deadline bounds it; `limit` bounds what the stream's does not, e.g. resolving).
  template <class Start>
  error_code Await(Start&& start, std::chrono::milliseconds limit) {
    error_code result = asio::error::would_block;
    ioc.restart();
    start([&](error_code ec, auto&&...) { result = ec; });
    ioc.run_for(limit);
    if (result == asio::error::would_block) {  // not finished in time: cancel it
      error_code ignored;
      Tcp().socket().cancel(ignored);
      ioc.run();
      result = asio::error::timed_out;
    }
    return result;
  }

  // Runs `op(stream)` on whichever stream this connection has.
  template <class Op>
  auto With(Op&& op) {
    return secure ? op(*secure) : op(*plain);
  }

  void Close() {
    // No TLS close_notify: the connection is dropped either way, and a peer that
    // broke it would hold us for the exchange's timeout.
    error_code ignored;
    Tcp().socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    Tcp().close();
    buffer.clear();
    connected = false;
  }
};

namespace {

void LoadTls(ssl::context& ctx, const TlsOptions& o) {
  auto load = [](const std::string& what, const std::string& path, auto&& f) {
    error_code ec;
    f(ec);
    if (ec) {
      throw Error(Errc::kInvalidArgument,
                  fmt::format("cannot load the {} {}: {}", what, path, ec.message()));
    }
  };
  ctx.set_verify_mode(ssl::verify_peer);
  if (o.ca_file.empty()) {
    load("system CA store", "", [&](error_code& ec) { ctx.set_default_verify_paths(ec); });
  } else {
    load("CA file", o.ca_file, [&](error_code& ec) { ctx.load_verify_file(o.ca_file, ec); });
  }
  if (o.cert_file.empty() != o.key_file.empty()) {
    throw Error(Errc::kInvalidArgument,
                "a client certificate needs both its certificate file and its key file");
  }
  if (!o.cert_file.empty()) {
    load("client certificate", o.cert_file,
         [&](error_code& ec) { ctx.use_certificate_chain_file(o.cert_file, ec); });
    load("client key", o.key_file,
         [&](error_code& ec) { ctx.use_private_key_file(o.key_file, ssl::context::pem, ec); });
  }
}

// Why a handshake failed, in words an operator can act on.
std::string HandshakeFailure(SSL* ssl, error_code ec) {
  long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    return fmt::format("the server's certificate is not accepted: {}",
                       X509_verify_cert_error_string(verify));
  }
  return ec.message();
}

}  // namespace

HttpClient::HttpClient(HttpUrl url, const TlsOptions& tls)
    : url_(std::move(url)), impl_(std::make_unique<Impl>()) {
  if (!url_.tls) {
    if (tls.any()) {
      throw Error(Errc::kInvalidArgument,
                  fmt::format("TLS files are given but {} is not an https:// URL", url_.text));
    }
    impl_->plain.emplace(impl_->ioc);
    return;
  }
  impl_->tls.emplace(ssl::context::tls_client);
  LoadTls(*impl_->tls, tls);
  impl_->secure.emplace(impl_->ioc, *impl_->tls);
}

HttpClient::~HttpClient() = default;

void HttpClient::Cancel() {
  impl_->cancelled = true;
  // Runs on the thread in Post (or at the start of its next operation): the socket's
  // operations end with operation_aborted.
  asio::post(impl_->ioc, [impl = impl_.get()] {
    error_code ignored;
    impl->Tcp().socket().cancel(ignored);
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
  // Throws: TlsError for what OpenSSL reports (e.g. the server's alert that it
  // refused our client certificate, which TLS 1.3 sends after the handshake).
  auto fail = [&](const char* what, error_code ec) {
    s.Close();
    bool timed_out = ec == asio::error::timed_out || ec == beast::error::timeout;
    if (!timed_out && ec.category() == asio::error::get_ssl_category()) {
      throw TlsError(fmt::format("{} {}: TLS: {}", what, url_.text, ec.message()));
    }
    throw Error(timed_out ? Errc::kTimeout : Errc::kSystem,
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
      fail("resolving", ec);
    }
    if (s.tls) {
      s.secure.emplace(s.ioc, *s.tls);
    } else {
      s.plain.emplace(s.ioc);
    }
    s.Tcp().expires_after(left());
    ec = s.Await([&](auto handler) { s.Tcp().async_connect(endpoints, handler); }, left());
    if (ec) fail("connecting to", ec);
    if (s.secure) {
      SSL* ssl = s.secure->native_handle();
      // The certificate must name the URL's host; SNI carries a name, never an address.
      error_code not_ip;
      asio::ip::make_address(url_.host, not_ip);
      if (not_ip) {
        SSL_set_tlsext_host_name(ssl, url_.host.c_str());
        SSL_set1_host(ssl, url_.host.c_str());
      } else {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url_.host.c_str());
      }
      s.Tcp().expires_after(left());
      ec = s.Await(
          [&](auto handler) { s.secure->async_handshake(ssl::stream_base::client, handler); },
          left());
      if (ec == asio::error::timed_out || ec == beast::error::timeout) {
        fail("TLS handshake with", ec);
      }
      if (ec) {
        std::string why = HandshakeFailure(ssl, ec);
        s.Close();
        throw TlsError(
            fmt::format("TLS handshake with {}:{} failed: {}", url_.host, url_.port, why));
      }
    }
    s.connected = true;
  }
  http::request<http::string_body> req{http::verb::post, url_.target, 11};
  // host[:port] as RFC 9110 gives it (a virtual host behind a proxy is chosen by it).
  const bool v6 = url_.host.find(':') != std::string::npos;
  const bool default_port = url_.port == (url_.tls ? "443" : "80");
  req.set(http::field::host,
          (v6 ? "[" + url_.host + "]" : url_.host) + (default_port ? "" : ":" + url_.port));
  req.set(http::field::user_agent, "shmstatsd/" SHMSTATS_VERSION);
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  s.Tcp().expires_after(left());
  error_code ec = s.Await(
      [&](auto handler) { s.With([&](auto& stream) { http::async_write(stream, req, handler); }); },
      left());
  if (ec) fail("sending to", ec);
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024);
  s.Tcp().expires_after(left());
  ec = s.Await(
      [&](auto handler) {
        s.With([&](auto& stream) { http::async_read(stream, s.buffer, parser, handler); });
      },
      left());
  if (ec == http::error::body_limit) ec = {};  // the status is what matters
  if (ec) fail("reading the reply of", ec);
  HttpReply reply;
  reply.status = static_cast<int>(parser.get().result_int());
  reply.body = std::move(parser.get().body());
  if (!parser.get().keep_alive() || !parser.is_done()) s.Close();
  return reply;
}

}  // namespace shmstats::daemon
