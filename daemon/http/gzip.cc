// SPDX-License-Identifier: Apache-2.0
#include "daemon/http/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <new>

#include "daemon/http/types.h"

namespace shmstats::daemon {
bool AcceptsGzip(std::string_view header) {
  double gzip = -1, any = -1;  // -1: not named
  ForEachWeighted(header, [&](std::string_view coding, double q, std::string_view) {
    if (SameIgnoringCase(coding, "gzip") || SameIgnoringCase(coding, "x-gzip"))
      gzip = std::max(gzip, q);
    else if (coding == "*")
      any = std::max(any, q);
  });
  return gzip >= 0 ? gzip > 0 : any > 0;
}

std::string Gzip(std::string_view data) {
  z_stream z{};
  // 15 window bits + 16: a gzip header and trailer rather than zlib's.
  if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::bad_alloc();
  std::string out(deflateBound(&z, data.size() > UINT_MAX ? UINT_MAX : data.size()) + 64, '\0');
  size_t written = 0;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  int rc = Z_OK;
  size_t left = data.size();
  while (rc != Z_STREAM_END) {
    // zlib counts in uInt: feed more than 4 GiB in pieces.
    if (z.avail_in == 0 && left > 0) {
      z.avail_in = static_cast<uInt>(std::min<size_t>(left, UINT_MAX));
      left -= z.avail_in;
    }
    if (written == out.size()) out.resize(out.size() * 2);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + written);
    z.avail_out = static_cast<uInt>(std::min<size_t>(out.size() - written, UINT_MAX));
    const uInt before = z.avail_out;
    rc = deflate(&z, left == 0 ? Z_FINISH : Z_NO_FLUSH);
    written += before - z.avail_out;
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      deflateEnd(&z);
      throw std::bad_alloc();
    }
  }
  deflateEnd(&z);
  out.resize(written);
  return out;
}

}  // namespace shmstats::daemon
