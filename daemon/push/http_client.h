// SPDX-License-Identifier: Apache-2.0
#pragma once

// A small HTTP/1.1 client for shmstatsd's pushes (remote-write), on Boost.Beast:
// one keep-alive connection, re-opened when it breaks, every exchange bounded by a
// timeout. https:// URLs go over TLS (Beast's SSL stream over OpenSSL): the server's
// certificate is verified against the system's CA store or a given CA file, and
// must name the URL's host (a name or an IP address); the host name goes in SNI;
// a client certificate is optional.
//
// Thread-safety: one thread at a time per HttpClient, but Cancel from any. Errors:
// ParseHttpUrl throws shmstats::Error(kInvalidArgument), and so does the constructor
// when a CA, certificate or key file cannot be loaded (or TLS files are given for an
// http:// URL); Post throws TlsError when TLS fails (the certificate is not
// trusted, has expired or names another host; the server refused ours),
// shmstats::Error(kTimeout) when the exchange takes longer than its timeout, kSystem
// for any other network failure (and after Cancel).

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "shmstats/error.h"

namespace shmstats::daemon {

struct HttpUrl {
  std::string host;          // a name or address; an IPv6 address without brackets
  std::string port;          // "80" (http) or "443" (https) when the URL gives none
  bool tls = false;          // https://
  std::string target = "/";  // path and query
  std::string text;          // the URL as given, for messages
};

// http[s]://HOST[:PORT][/PATH][?QUERY], e.g. http://127.0.0.1:9090/api/v1/write,
// https://[::1]:8428/api/v1/write. Credentials in the URL are refused (they would
// show in `ps`): they come from files (push/credentials.h).
HttpUrl ParseHttpUrl(const std::string& url);

// PEM files for https://. Empty ca_file: the system's CA store. cert_file and
// key_file go together (a client certificate, for receivers that ask for one).
struct TlsOptions {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  bool any() const { return !ca_file.empty() || !cert_file.empty() || !key_file.empty(); }
};

// A TLS handshake that failed: what() says why in one line, e.g. "TLS handshake with
// 127.0.0.1:9090 failed: certificate has expired".
class TlsError : public Error {
 public:
  explicit TlsError(const std::string& message) : Error(Errc::kSystem, message) {}
};

struct HttpReply {
  int status = 0;
  std::string body;  // at most the first 64 KiB
};

class HttpClient {
 public:
  explicit HttpClient(HttpUrl url, const TlsOptions& tls = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // POSTs `body` with `headers` (Host, User-Agent and Content-Length are added) and
  // returns the reply, whatever its status. A kept-alive connection that the server
  // closed meanwhile is re-opened once.
  HttpReply Post(const std::string& body,
                 const std::vector<std::pair<std::string, std::string>>& headers,
                 std::chrono::milliseconds timeout);

  // Aborts the exchange in progress on another thread, and makes every later Post
  // throw shmstats::Error(kSystem) at once: for shutting down while a server hangs.
  // Thread-safe.
  void Cancel();

  const HttpUrl& url() const { return url_; }

 private:
  struct Impl;
  HttpReply Exchange(const std::string& body,
                     const std::vector<std::pair<std::string, std::string>>& headers,
                     std::chrono::milliseconds timeout);
  HttpUrl url_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shmstats::daemon
