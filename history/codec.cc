// SPDX-License-Identifier: Apache-2.0
#include "history/codec.h"

#include <bit>
#include <cstring>

namespace shmstats::history {
namespace {

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view& in, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    auto byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return true;
  }
  return false;
}

void PutDouble(std::string& out, double d) {
  uint64_t bits = std::bit_cast<uint64_t>(d);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(bits >> (8 * i)));
}

double GetDouble(std::string_view in) {
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) bits |= static_cast<uint64_t>(static_cast<uint8_t>(in[i])) << (8 * i);
  return std::bit_cast<double>(bits);
}

}  // namespace

std::string EncodeBuckets(const std::vector<uint64_t>& counts, double sum) {
  std::string out;
  PutDouble(out, sum);
  size_t next = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    PutVarint(out, i - next);
    PutVarint(out, counts[i]);
    next = i + 1;
  }
  return out;
}

bool DecodeBucketsInto(std::string_view blob, std::vector<uint64_t>& counts, double& sum) {
  if (blob.size() < 8) return false;
  sum += GetDouble(blob);
  blob.remove_prefix(8);
  uint64_t next = 0;
  while (!blob.empty()) {
    uint64_t gap = 0, count = 0;
    if (!GetVarint(blob, gap) || !GetVarint(blob, count)) return false;
    if (gap >= counts.size() || next + gap >= counts.size()) return false;
    counts[next + gap] += count;
    next += gap + 1;
  }
  return true;
}

std::string EncodeBounds(const std::vector<double>& bounds) {
  std::string out;
  for (double b : bounds) PutDouble(out, b);
  return out;
}

std::vector<double> DecodeBounds(std::string_view blob) {
  std::vector<double> bounds;
  for (; blob.size() >= 8; blob.remove_prefix(8)) bounds.push_back(GetDouble(blob));
  return bounds;
}

}  // namespace shmstats::history
