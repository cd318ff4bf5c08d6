// SPDX-License-Identifier: Apache-2.0
#include "tools/parse.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "common/exposition.h"

namespace shmstats::statsctl {

double ParseNumber(std::string_view text, std::string_view what) {
  std::string_view t = text;
  if (!t.empty() && t[0] == '+') t.remove_prefix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  bool nonfinite = ec == std::errc() && !std::isfinite(v);
  if (nonfinite)
    throw CommandError(Exit::kUsage, fmt::format("{} '{}' is not finite: give a finite number "
                                                 "such as 1.5 or -2e3 (NaN and infinities are "
                                                 "refused)",
                                                 what, text));
  if (ec == std::errc::result_out_of_range)
    throw CommandError(
        Exit::kUsage,
        fmt::format("{} '{}' is out of range for a double: give a finite number", what, text));
  if (ec != std::errc() || end != t.data() + t.size() || t.empty())
    throw CommandError(Exit::kUsage, fmt::format("{} '{}' is not a number: write a decimal "
                                                 "number with a '.' such as 1.5 or -2e3",
                                                 what, text));
  return v;
}

uint64_t ParseIncrement(std::string_view text) {
  if (!text.empty() && text[0] == '-')
    throw CommandError(Exit::kUsage,
                       fmt::format("negative counter increment '{}': counters only go up; use a "
                                   "gauge (statsctl add NAME DELTA) for values that go down",
                                   text));
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc::result_out_of_range)
    throw CommandError(Exit::kUsage,
                       fmt::format("increment '{}' is above 2^64-1: give a smaller count", text));
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    throw CommandError(Exit::kUsage,
                       fmt::format("increment '{}' is not a whole number: give a count such as 1 "
                                   "or 250",
                                   text));
  return n;
}

Series ParseSeries(std::string_view text) {
  common::Selector sel;
  try {
    // The name first, so that a bad one gets the naming rule as its message.
    std::string_view name = text.substr(0, text.find('{'));
    if (name.find_first_of("*?") == std::string_view::npos) ValidateMetricName(name);
    sel = common::Selector::Parse(text);
  } catch (const Error& e) {
    throw CommandError(Exit::kUsage, e.what());
  }
  Series s;
  s.name = sel.name_glob();
  auto not_one = [&](std::string_view why) {
    return CommandError(Exit::kUsage,
                        fmt::format("'{}' does not name one series ({}): write NAME or "
                                    "NAME{{label=\"value\",...}}",
                                    text, why));
  };
  if (s.name.empty()) throw not_one("no metric name");
  if (s.name.find_first_of("*?") != std::string::npos) throw not_one("globs are not allowed here");
  for (const auto& m : sel.matchers()) {
    if (m.op != common::LabelMatcher::Op::kEq) throw not_one("only = label matchers");
    s.labels.emplace_back(m.name, m.value);
  }
  try {
    ValidateMetricName(s.name);
    for (const auto& [k, v] : s.labels) ValidateLabelName(k);
  } catch (const Error& e) {
    throw CommandError(Exit::kUsage, e.what());
  }
  return s;
}

std::vector<common::Selector> ParseSelectors(const std::vector<std::string>& texts) {
  std::vector<common::Selector> out;
  for (const auto& t : texts) {
    try {
      out.push_back(common::Selector::Parse(t));
    } catch (const Error& e) {
      throw CommandError(Exit::kUsage, e.what());
    }
  }
  return out;
}

bool AnyMatches(const std::vector<common::Selector>& selectors, const MetricSnapshot& m) {
  if (selectors.empty()) return true;
  return std::any_of(selectors.begin(), selectors.end(),
                     [&](const common::Selector& s) { return s.Matches(m); });
}

}  // namespace shmstats::statsctl
