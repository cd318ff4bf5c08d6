// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for shmstatsd's statsd line parser: any bytes as a datagram,
// every line parsed; a parsed line's fields must lie within the input, its values
// must parse, its name and tag keys must escape to valid Prometheus names.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "daemon/statsd/parser.h"

namespace statsd = shmstats::daemon::statsd;

namespace {

void Require(bool ok) {
  if (!ok) std::abort();
}

bool Within(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

bool ValidName(const std::string& name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view datagram(reinterpret_cast<const char*>(data), size);
  statsd::ForEachLine(datagram, [&](std::string_view text) {
    Require(!text.empty() && text.find('\n') == std::string_view::npos);
    statsd::Line line;
    statsd::Result r = statsd::ParseLine(text, line);
    Require(!statsd::ResultName(r).empty());
    if (r != statsd::Result::kOk) return;
    Require(Within(line.name, text) && Within(line.values, text) && Within(line.tags, text));
    Require(!line.name.empty() && line.sample_rate > 0 && line.sample_rate <= 1);
    Require(ValidName(statsd::EscapeName(line.name)));
    std::string_view values = line.values;
    while (true) {
      size_t colon = values.find(':');
      double v;
      bool relative;
      Require(statsd::ParseValue(values.substr(0, colon), v, relative));
      if (colon == std::string_view::npos) break;
      values.remove_prefix(colon + 1);
    }
    statsd::ForEachTag(line.tags, [&](std::string_view k, std::string_view) {
      Require(ValidName(statsd::EscapeName(k)));
    });
  });
  return 0;
}
