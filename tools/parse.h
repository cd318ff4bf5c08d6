// SPDX-License-Identifier: Apache-2.0
#pragma once

// Strict parsing of statsctl's command-line values: numbers, increments, one series,
// selectors. Every function throws CommandError(kUsage) with a message saying what
// to write instead.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/selector.h"
#include "shmstats/shmstats.h"
#include "tools/command.h"

namespace shmstats::statsctl {

// A finite decimal number ("1.5", "-2", "1e3"); never locale-dependent. `what`
// names the argument in the error ("value", "delta").
double ParseNumber(std::string_view text, std::string_view what);

// A counter increment: a non-negative integer below 2^64.
uint64_t ParseIncrement(std::string_view text);

// NAME or NAME{label="value",...}: exactly one series, names checked.
struct Series {
  std::string name;
  Labels labels;
};
Series ParseSeries(std::string_view text);

// Selectors from the command line; none means "everything".
std::vector<common::Selector> ParseSelectors(const std::vector<std::string>& texts);
bool AnyMatches(const std::vector<common::Selector>& selectors, const MetricSnapshot& m);

}  // namespace shmstats::statsctl
