// SPDX-License-Identifier: Apache-2.0
#pragma once

// A small HTTP/1.1 client for shmstatsd's pushes (remote-write), on Boost.Beast:
// one keep-alive connection, re-opened when it breaks, every exchange bounded by a
// timeout. http:// only: for TLS, point it at a local proxy that terminates TLS.
//
// Thread-safety: one thread at a time per HttpClient, but Cancel from any. Errors:
// ParseHttpUrl throws shmstats::Error(kInvalidArgument); Post throws
// shmstats::Error(kTimeout) when the exchange takes longer than its timeout, kSystem
// for any other network failure (and after Cancel).

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace shmstats::daemon {

struct HttpUrl {
  std::string host;          // a name or address; an IPv6 address without brackets
  std::string port;          // "80" when the URL gives none
  std::string target = "/";  // path and query
  std::string text;          // the URL as given, for messages
};

// http://HOST[:PORT][/PATH][?QUERY], e.g. http://127.0.0.1:9090/api/v1/write or
// http://[::1]:8428/api/v1/write.
HttpUrl ParseHttpUrl(const std::string& url);

struct HttpReply {
  int status = 0;
  std::string body;  // at most the first 64 KiB
};

class HttpClient {
 public:
  explicit HttpClient(HttpUrl url);
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
