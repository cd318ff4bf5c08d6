// SPDX-License-Identifier: Apache-2.0
#include "history/time.h"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <chrono>
#include <climits>
#include <ctime>
#include <utility>

#include "shmstats/error.h"

namespace shmstats::history {
namespace {

[[noreturn]] void Bad(std::string_view what, std::string_view text) {
  throw Error(Errc::kInvalidArgument,
              fmt::format("invalid {} '{}': use RFC 3339 (2026-11-21T19:00:00Z), 'now', or a "
                          "relative time like -15m, -1h30m, -7d",
                          what, text.substr(0, 64)));
}

// Reads exactly n digits from s at pos.
bool Digits(std::string_view s, size_t& pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    out = out * 10 + (c - '0');
  }
  pos += n;
  return true;
}

bool Expect(std::string_view s, size_t& pos, char c) {
  if (pos < s.size() && (s[pos] == c)) {
    ++pos;
    return true;
  }
  return false;
}

bool ParseRfc3339(std::string_view s, int64_t& out_ms) {
  size_t p = 0;
  int y, mo, d, h, mi, se;
  if (!Digits(s, p, 4, y) || !Expect(s, p, '-') || !Digits(s, p, 2, mo) || !Expect(s, p, '-') ||
      !Digits(s, p, 2, d))
    return false;
  if (!(Expect(s, p, 'T') || Expect(s, p, 't') || Expect(s, p, ' '))) return false;
  if (!Digits(s, p, 2, h) || !Expect(s, p, ':') || !Digits(s, p, 2, mi) || !Expect(s, p, ':') ||
      !Digits(s, p, 2, se))
    return false;
  int64_t frac_ms = 0;
  if (Expect(s, p, '.')) {
    int scale = 100, digits = 0;
    while (p < s.size() && std::isdigit(static_cast<unsigned char>(s[p]))) {
      frac_ms += (s[p] - '0') * scale;
      scale /= 10;
      ++p;
      if (++digits > 9) return false;
    }
    if (digits == 0) return false;
  }
  int offset_min = 0;
  if (Expect(s, p, 'Z') || Expect(s, p, 'z')) {
  } else if (p < s.size() && (s[p] == '+' || s[p] == '-')) {
    int sign = s[p++] == '-' ? -1 : 1, oh, om;
    if (!Digits(s, p, 2, oh) || !Expect(s, p, ':') || !Digits(s, p, 2, om) || oh > 23 || om > 59)
      return false;
    offset_min = sign * (oh * 60 + om);
  } else {
    return false;
  }
  if (p != s.size()) return false;
  static constexpr std::array<int, 12> kDays = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] || h > 23 || mi > 59 || se > 60)
    return false;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  time_t t = timegm(&tm);
  if (tm.tm_mday != d) return false;  // 29 February of a common year
  out_ms = (static_cast<int64_t>(t) - offset_min * 60) * 1000 + frac_ms;
  return true;
}

// PromQL durations: one or more NUMBER UNIT, units ms s m h d w y in decreasing
// order, each once ("90s", "1h30m", "1d12h"); at most 100 years.
bool ParseDurationMs(std::string_view s, int64_t& out_ms) {
  static constexpr std::array<std::pair<std::string_view, int64_t>, 7> kUnits = {{
      {"y", 365 * 86'400'000LL},
      {"w", 7 * 86'400'000LL},
      {"d", 86'400'000},
      {"h", 3'600'000},
      {"ms", 1},  // before "m" so that "ms" is not read as minutes
      {"m", 60'000},
      {"s", 1000},
  }};
  constexpr int64_t kMax = 100 * 365 * 86'400'000LL;
  int64_t total = 0, last_unit = INT64_MAX;
  size_t p = 0;
  if (s.empty()) return false;
  while (p < s.size()) {
    int64_t n = 0;
    size_t start = p;
    for (; p < s.size() && std::isdigit(static_cast<unsigned char>(s[p])); ++p) {
      n = n * 10 + (s[p] - '0');
      if (n > kMax) return false;
    }
    if (p == start) return false;
    int64_t unit = 0;
    for (const auto& [name, ms] : kUnits) {
      if (s.substr(p).starts_with(name)) {
        unit = ms;
        p += name.size();
        break;
      }
    }
    if (unit == 0 || unit >= last_unit || n > (kMax - total) / unit) return false;
    total += n * unit;
    last_unit = unit;
  }
  out_ms = total;
  return true;
}

bool ParseRelative(std::string_view s, int64_t now_ms, int64_t& out_ms) {
  if (s.empty()) return false;
  if (s.starts_with("now")) s.remove_prefix(3);
  if (s.empty()) {
    out_ms = now_ms;
    return true;
  }
  if (s[0] != '-') return false;
  s.remove_prefix(1);
  int64_t ms = 0;
  if (!ParseDurationMs(s, ms)) return false;
  out_ms = now_ms - ms;
  return true;
}

}  // namespace

int64_t ParseDuration(std::string_view text) {
  int64_t ms = 0;
  if (ParseDurationMs(text, ms)) return ms;
  throw Error(Errc::kInvalidArgument,
              fmt::format("invalid duration '{}': write a number and a unit (ms, s, m, h, d, w, "
                          "y), units may be combined largest first: 90s, 15m, 1h30m, 7d",
                          text.substr(0, 64)));
}

int64_t ParseStep(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, int64_t>, 6> kSteps = {{
      {"1m", 60'000},
      {"5m", 300'000},
      {"15m", 900'000},
      {"1h", 3'600'000},
      {"6h", 21'600'000},
      {"1d", 86'400'000},
  }};
  for (const auto& [name, ms] : kSteps) {
    if (text == name) return ms;
  }
  throw Error(
      Errc::kInvalidArgument,
      fmt::format("invalid step '{}': use one of 1m, 5m, 15m, 1h, 6h, 1d", text.substr(0, 64)));
}

int64_t ParseTime(std::string_view text, int64_t now_ms) {
  int64_t ms = 0;
  if (ParseRelative(text, now_ms, ms) || ParseRfc3339(text, ms)) return ms;
  Bad("time", text);
}

std::string FormatRfc3339(int64_t unix_ms) {
  time_t secs = static_cast<time_t>(unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000);
  int ms = static_cast<int>(unix_ms - static_cast<int64_t>(secs) * 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900,
                                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (ms != 0) out += fmt::format(".{:03}", ms);
  return out + "Z";
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace shmstats::history
