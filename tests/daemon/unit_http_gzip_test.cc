// SPDX-License-Identifier: Apache-2.0
// gzip for HTTP responses: which Accept-Encoding values accept it, and that what
// Gzip() writes is one gzip member that zlib inflates back to the input.

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

#include "daemon/http/gzip.h"

namespace shmstats::daemon {
namespace {

std::string Gunzip(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);  // gzip only
  std::string out;
  char buf[65536];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - z.avail_out);
  }
  EXPECT_EQ(rc, Z_STREAM_END);
  EXPECT_EQ(z.avail_in, 0u);  // nothing after the member
  inflateEnd(&z);
  return out;
}

TEST(GzipTest, AcceptEncodingAsRfc9110) {
  EXPECT_TRUE(AcceptsGzip("gzip"));
  EXPECT_TRUE(AcceptsGzip("gzip, deflate"));  // what curl --compressed and Prometheus send
  EXPECT_TRUE(AcceptsGzip("br;q=1.0, GZIP;q=0.5"));
  EXPECT_TRUE(AcceptsGzip("x-gzip"));
  EXPECT_TRUE(AcceptsGzip("*"));
  EXPECT_FALSE(AcceptsGzip(""));
  EXPECT_FALSE(AcceptsGzip("identity"));
  EXPECT_FALSE(AcceptsGzip("br"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0, *"));  // named and refused: * does not override
  EXPECT_FALSE(AcceptsGzip("*;q=0"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=abc"));  // not a quality: 0
  EXPECT_FALSE(AcceptsGzip("gzipx"));
}

TEST(GzipTest, RoundTripsSmallLargeAndEmpty) {
  std::string text;
  for (int i = 0; i < 200000; ++i)
    text += "scale_requests_total{instance=\"host-" + std::to_string(i) + "\"} 1\n";
  for (const std::string& in : {std::string(), std::string("a"), text}) {
    std::string z = Gzip(in);
    ASSERT_GE(z.size(), 18u);  // header and trailer
    EXPECT_EQ(z.substr(0, 2), "\x1f\x8b");
    EXPECT_EQ(Gunzip(z), in);
  }
  EXPECT_LT(Gzip(text).size(), text.size() / 5);
}

}  // namespace
}  // namespace shmstats::daemon
