// SPDX-License-Identifier: Apache-2.0
#pragma once

// Little-endian bytes for the daemon's own files (the spool's ticks, the baseline):
// a writer, a bounds-checked reader, and a frame of magic, length and CRC-32 that
// tells a whole file from a torn or damaged one.
//
// Frame: magic (8 bytes), u32 payload length, u32 CRC-32 (IEEE 802.3, as zlib's
// crc32) of the payload, the payload. Thread-safety: none needed (values only).

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace shmstats::daemon {

inline uint32_t Crc32(std::string_view data) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) c = table[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

class ByteWriter {
 public:
  template <typename T>
  void Int(T v) {
    for (size_t i = 0; i < sizeof(T); ++i)
      out += static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xFF);
  }
  void Double(double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, 8);
    Int(bits);
  }
  void Str(std::string_view s) {
    Int(static_cast<uint32_t>(s.size()));
    out += s;
  }
  std::string out;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}
  template <typename T>
  T Int() {
    uint64_t v = 0;
    if (!Need(sizeof(T))) return 0;
    for (size_t i = 0; i < sizeof(T); ++i)
      v |= uint64_t{static_cast<unsigned char>(in_[pos_ + i])} << (8 * i);
    pos_ += sizeof(T);
    return static_cast<T>(v);
  }
  double Double() {
    uint64_t bits = Int<uint64_t>();
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
  }
  std::string Str() {
    uint32_t n = Int<uint32_t>();
    if (!Need(n)) return {};
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  // A count of items of at least `min_bytes` each: bounded by what is left.
  uint32_t Count(size_t min_bytes) {
    uint32_t n = Int<uint32_t>();
    if (!Need(static_cast<size_t>(n) * min_bytes)) return 0;
    return n;
  }
  bool ok() const { return ok_; }
  bool done() const { return ok_ && pos_ == in_.size(); }

 private:
  bool Need(size_t n) {
    if (in_.size() - pos_ < n) ok_ = false;
    return ok_;
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// The frame of `payload` under `magic` (8 bytes).
inline std::string Frame(std::string_view magic, std::string_view payload) {
  ByteWriter frame;
  frame.out = magic;
  frame.Int(static_cast<uint32_t>(payload.size()));
  frame.Int(Crc32(payload));
  frame.out += payload;
  return std::move(frame.out);
}

// The payload of `frame`, or nullopt if it is not a whole frame under `magic`.
inline std::optional<std::string_view> Unframe(std::string_view magic, std::string_view frame) {
  constexpr size_t kHeader = 16;              // magic, length, crc
  constexpr uint32_t kMaxPayload = 1u << 30;  // sanity bound when reading
  if (frame.size() < kHeader || frame.substr(0, 8) != magic) return std::nullopt;
  ByteReader head(frame.substr(8, 8));
  const uint32_t length = head.Int<uint32_t>();
  const uint32_t crc = head.Int<uint32_t>();
  if (length > kMaxPayload || frame.size() - kHeader != length) return std::nullopt;
  const std::string_view payload = frame.substr(kHeader);
  if (Crc32(payload) != crc) return std::nullopt;
  return payload;
}

}  // namespace shmstats::daemon
