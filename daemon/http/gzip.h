// SPDX-License-Identifier: Apache-2.0
#pragma once

// gzip for HTTP responses (RFC 9110 content coding), with zlib.
//
// Thread-safety: plain functions, no shared state.

#include <string>
#include <string_view>

namespace shmstats::daemon {

// True when an Accept-Encoding header value accepts gzip: "gzip" or "x-gzip" (or "*")
// with a quality above 0, e.g. "gzip", "deflate, gzip;q=0.5". Tokens compare
// case-insensitively; a quality that is not a number counts as 0.
bool AcceptsGzip(std::string_view accept_encoding);

// `data` as one gzip member (RFC 1952), at zlib's fastest level: /metrics at 100,000
// series is ~12 MB of text that compresses ~10x even so, and a scrape's CPU matters
// more than the last few percent. Throws std::bad_alloc when zlib runs out of memory.
std::string Gzip(std::string_view data);

}  // namespace shmstats::daemon
