// SPDX-License-Identifier: Apache-2.0
#pragma once

// The request and response that shmstatsd's route handlers see: plain values,
// independent of the HTTP library underneath (http_transport.h), so that a route is
// a function of a request to a response.
//
// Thread-safety: plain values; a handler owns the pair it is given.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace shmstats::daemon {

using HttpFields = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "GET", "POST"...
  std::string path;    // the target up to '?', as sent
  HttpFields params;   // query parameters, percent-decoded, in order
  HttpFields headers;  // names as sent
  std::string body;
  std::chrono::steady_clock::time_point received;  // when its last byte arrived

  bool HasParam(std::string_view name) const;
  // The first value of query parameter `name`, or `fallback`.
  std::string Param(std::string_view name, std::string_view fallback = "") const;
  // The first header called `name` (compared case-insensitively), or "".
  std::string Header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  HttpFields headers;  // extra headers (Content-Type and Content-Length are set from the rest)
  std::string body;
  // A body shared with other responses (one /metrics render sent to every scrape
  // that waited for it): sent instead of `body` when set, without a copy.
  std::shared_ptr<const std::string> shared_body;

  // Sets status, body and content type in one call.
  void Set(int code, std::string text, std::string type = "text/plain; charset=utf-8") {
    status = code;
    body = std::move(text);
    content_type = std::move(type);
  }
};

// Splits "a=1&b=x%20y" into decoded pairs ('+' is a space, as in forms).
HttpFields ParseQuery(std::string_view query);
bool SameIgnoringCase(std::string_view a, std::string_view b);

// Calls visit(token, q, params) for each item of a list weighted by ";q=" (Accept,
// Accept-Encoding: RFC 9110 12.4.2): the token trimmed of blanks, q 1 when absent
// and 0 when it is not a number in [0, 1] (read without the locale).
// `params` are the item's other parameters as written ("a=1;b=2"), for media types
// whose parameters select a variant.
void ForEachWeighted(
    std::string_view header,
    const std::function<void(std::string_view token, double q, std::string_view params)>& visit);

}  // namespace shmstats::daemon
