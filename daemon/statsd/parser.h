// SPDX-License-Identifier: Apache-2.0
#pragma once

// The statsd / DogStatsD line protocol, parsed without allocating: every field of a
// parsed line is a view into the datagram. Pure functions, no state, no I/O.
//
//   <name>:<value>[:<value>...]|<type>[|@<sample rate>][|#<tag>[,<tag>...]][|c:<id>]
//       [|e:<external data>][|card:<cardinality>][|T<ts>]
//
// type: c (counter), g (gauge; a value with a leading + or - is a delta), ms (timer,
// milliseconds), h (histogram), d (distribution). Sets (s), events (_e{) and
// service checks (_sc|) are recognised and refused as unsupported. A tag is key:value
// or a bare key. DogStatsD's metadata fields (container id c:, external data e:,
// cardinality card:, timestamp T, and any other "<letter>:" field of a later
// protocol version) are accepted and ignored, as the protocol asks of a server. A
// sample rate must be in (0, 1] with 1/rate below 2^63 (else kBadSampleRate).

#include <cstdint>
#include <string>
#include <string_view>

namespace shmstats::daemon::statsd {

enum class Type : uint8_t { kCounter, kGauge, kTimer, kHistogram, kDistribution };

// Why a line was or was not recorded; the label of shmstatsd_statsd_lines_total.
enum class Result : uint8_t {
  kOk,             // recorded
  kMalformed,      // no name, no ':' or no '|type'
  kBadValue,       // not a finite number, or a negative counter
  kBadType,        // an unknown type
  kUnsupported,    // sets, events and service checks
  kBadSampleRate,  // @rate not a number in (0, 1], or so small that 1/rate overflows
  kBadField,       // an unknown |field after the type
  kInvalidName,    // the segment refused the mapped name or labels (too long, reserved)
  kTypeConflict,   // the series exists with another type
  kSegmentFull,    // no room for a new series
  kNoSegment,      // the segment could not be opened
  kTruncated,      // the datagram was larger than the receive buffer
};
inline constexpr int kResultCount = 12;
std::string_view ResultName(Result result) noexcept;

struct Line {
  std::string_view name;    // raw, before mapping
  std::string_view values;  // one or more values separated by ':', all valid
  std::string_view tags;    // "k:v,k2" without the leading '#'; empty if none
  Type type = Type::kCounter;
  double sample_rate = 1;
};

// Parses one line (no '\n'). On kOk, `out` views into `line`.
Result ParseLine(std::string_view line, Line& out) noexcept;

// One value: a finite decimal number, optionally signed. `relative` is true when it
// starts with '+' or '-' (a gauge delta). Returns false on anything else.
bool ParseValue(std::string_view text, double& value, bool& relative) noexcept;

// Calls f(piece) for every piece of `text` between separators `sep`: empty pieces
// between two separators too, none after a trailing one.
template <class F>
void ForEachPiece(std::string_view text, char sep, F&& f) {
  while (!text.empty()) {
    size_t at = text.find(sep);
    f(text.substr(0, at));
    text.remove_prefix(at == std::string_view::npos ? text.size() : at + 1);
  }
}

// Calls f(line) for every non-empty line of a datagram ('\n' separated, a trailing
// '\r' removed).
template <class F>
void ForEachLine(std::string_view datagram, F&& f) {
  ForEachPiece(datagram, '\n', [&](std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) f(line);
  });
}

// statsd_exporter's escaping of a metric or label name: every character outside
// [a-zA-Z0-9_] (a UTF-8 sequence counts as one) becomes '_', and a name starting
// with a digit gets a leading '_'. "api.req-count" -> "api_req_count".
std::string EscapeName(std::string_view name);

// Calls f(key, value) for every tag "key:value" of a tag list; bare keys and empty
// keys are skipped (as statsd_exporter does).
template <class F>
void ForEachTag(std::string_view tags, F&& f) {
  ForEachPiece(tags, ',', [&](std::string_view tag) {
    size_t colon = tag.find(':');
    if (colon != std::string_view::npos && colon != 0)
      f(tag.substr(0, colon), tag.substr(colon + 1));
  });
}

}  // namespace shmstats::daemon::statsd
