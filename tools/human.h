// SPDX-License-Identifier: Apache-2.0
#pragma once

// How statsctl's tables show numbers and text to people (never used for --json,
// CSV or the exposition formats, which stay exact):
//   - numbers with a few significant digits (4 by default) and the metric's unit
//     scaled: 0.0011015 seconds -> "1.102 ms", 19196966.9 bytes -> "19.20 MB",
//     a rate of 606.705 -> "606.7/s"; counters without a unit stay exact integers;
//   - --raw: the shortest exact form (common::FormatDouble) and the bare unit;
//   - column widths counted in terminal cells (wcswidth), so that "東京" counts 4.

#include <cstdint>
#include <string>
#include <string_view>

namespace shmstats::statsctl {

struct NumberStyle {
  int precision = 4;  // significant digits, 1..17
  bool raw = false;   // full digits, unit not scaled
};

// `v` in `unit` ("seconds", "bytes", anything else is appended as is; "" none).
std::string HumanNumber(double v, std::string_view unit, const NumberStyle& style);
// A per-second rate of something in `unit`: "606.7/s", "1.20 MB/s".
std::string HumanRate(double per_second, std::string_view unit, const NumberStyle& style);
// A counter: exact when it has no unit (or --raw), else HumanNumber.
std::string HumanCount(uint64_t v, std::string_view unit, const NumberStyle& style);

// Terminal cells that `text` (UTF-8) takes; bytes when it is not valid UTF-8.
// The first non-ASCII text sets LC_CTYPE from the environment, or to C.UTF-8 when
// that is not UTF-8 (a C locale would count every byte of "Zürich" as a cell); no
// other category changes (numbers are formatted with fmt, which ignores the locale).
// Not thread-safe on its first call.
size_t DisplayWidth(std::string_view text);
// `text` cut to `width` cells, ending in "…" when cut.
std::string ClipToWidth(const std::string& text, size_t width);

// A horizontal bar of `fraction` (0..1) of `width` cells in Unicode eighth blocks.
std::string Bar(double fraction, int width);

}  // namespace shmstats::statsctl
