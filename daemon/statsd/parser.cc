// SPDX-License-Identifier: Apache-2.0
#include "daemon/statsd/parser.h"

#include <charconv>
#include <cmath>

namespace shmstats::daemon::statsd {

std::string_view ResultName(Result result) noexcept {
  static constexpr std::string_view kNames[kResultCount] = {
      "ok",           "malformed",    "bad_value",
      "bad_type",     "unsupported",  "bad_sample_rate",
      "bad_field",    "invalid_name", "type_conflict",
      "segment_full", "no_segment",   "truncated"};
  auto i = static_cast<size_t>(result);
  return i < kResultCount ? kNames[i] : "unknown";
}

bool ParseValue(std::string_view text, double& value, bool& relative) noexcept {
  relative = !text.empty() && (text.front() == '+' || text.front() == '-');
  bool negative = !text.empty() && text.front() == '-';
  if (relative) text.remove_prefix(1);
  // Digits first: from_chars would also take "inf", "nan" and hexadecimal forms.
  if (text.empty() || !((text.front() >= '0' && text.front() <= '9') || text.front() == '.')) {
    return false;
  }
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::general);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) return false;
  if (negative) value = -value;
  return true;
}

namespace {

bool ParseType(std::string_view t, Type& type, Result& refusal) noexcept {
  if (t == "c") {
    type = Type::kCounter;
  } else if (t == "g") {
    type = Type::kGauge;
  } else if (t == "ms") {
    type = Type::kTimer;
  } else if (t == "h") {
    type = Type::kHistogram;
  } else if (t == "d") {
    type = Type::kDistribution;
  } else {
    refusal = t == "s" ? Result::kUnsupported : Result::kBadType;
    return false;
  }
  return true;
}

// Checks every ':'-separated value; counters must not be negative.
Result CheckValues(std::string_view values, Type type) noexcept {
  while (true) {
    size_t colon = values.find(':');
    double v;
    bool relative;
    if (!ParseValue(values.substr(0, colon), v, relative)) return Result::kBadValue;
    if (type == Type::kCounter && v < 0) return Result::kBadValue;
    if (colon == std::string_view::npos) return Result::kOk;
    values.remove_prefix(colon + 1);
  }
}

// DogStatsD's fields after the type that shmstatsd does not use: "T<unix seconds>"
// (timestamp), "card:<cardinality>", and any "<letter>:<value>", which covers
// "c:<container id>" and "e:<external data>" (protocol 1.2, 1.3) and the
// single-letter fields later versions add, which a server must ignore.
bool IsIgnoredField(std::string_view field) noexcept {
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (field.size() >= 2 && letter(field[0]) && field[1] == ':') return true;
  if (field.starts_with("card:")) return true;
  if (field.size() >= 2 && field[0] == 'T') {
    return field.substr(1).find_first_not_of("0123456789") == std::string_view::npos;
  }
  return false;
}

}  // namespace

Result ParseLine(std::string_view line, Line& out) noexcept {
  if (line.starts_with("_e{") || line.starts_with("_sc|")) return Result::kUnsupported;
  size_t colon = line.find(':');
  size_t bar = line.find('|');
  if (colon == 0 || colon == std::string_view::npos || bar == std::string_view::npos ||
      bar < colon) {
    return Result::kMalformed;
  }
  out = Line{};
  out.name = line.substr(0, colon);
  out.values = line.substr(colon + 1, bar - colon - 1);
  std::string_view rest = line.substr(bar + 1);
  size_t next = rest.find('|');
  Result refusal = Result::kMalformed;
  if (!ParseType(rest.substr(0, next), out.type, refusal)) return refusal;
  if (Result r = CheckValues(out.values, out.type); r != Result::kOk) return r;
  while (next != std::string_view::npos) {
    rest.remove_prefix(next + 1);
    next = rest.find('|');
    std::string_view field = rest.substr(0, next);
    if (field.starts_with('@')) {
      field.remove_prefix(1);
      bool relative;
      // 1/rate is what a line stands for: it must be a finite count (below 2^63,
      // what lround and a counter's arithmetic hold), or nothing would be recorded.
      if (!ParseValue(field, out.sample_rate, relative) || relative || !(out.sample_rate > 0) ||
          out.sample_rate > 1 || !(1 / out.sample_rate < 0x1p63)) {
        return Result::kBadSampleRate;
      }
    } else if (field.starts_with('#')) {
      out.tags = field.substr(1);
    } else if (IsIgnoredField(field)) {
      // DogStatsD metadata (container id, external data, cardinality, timestamp, and
      // fields of later versions): accepted, not used.
    } else {
      return Result::kBadField;
    }
  }
  return Result::kOk;
}

std::string EscapeName(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 1);
  if (!name.empty() && name.front() >= '0' && name.front() <= '9') out += '_';
  for (size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') {
      out += static_cast<char>(c);
      continue;
    }
    out += '_';
    // A UTF-8 sequence becomes one '_': skip its continuation bytes.
    if (c >= 0xC0) {
      while (i + 1 < name.size() && (static_cast<unsigned char>(name[i + 1]) & 0xC0) == 0x80) ++i;
    }
  }
  return out;
}

}  // namespace shmstats::daemon::statsd
