// SPDX-License-Identifier: Apache-2.0
#include "tools/human.h"

#include <fmt/format.h>
#include <langinfo.h>

#include <algorithm>
#include <array>
#include <clocale>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <cwchar>
#include <string>

#include "common/exposition.h"

namespace shmstats::statsctl {
namespace {

struct Scale {
  double factor;
  const char* suffix;
};

// `v` with `digits` significant digits, fixed notation ("1.102", "19.20", "606.7");
// exponent notation only outside 1e-4..1e15.
std::string Significant(double v, int digits) {
  if (!std::isfinite(v)) return common::FormatDouble(v);
  if (v == 0) return "0";
  double a = std::fabs(v);
  if (a < 1e-4 || a >= 1e15) return fmt::format("{:.{}e}", v, std::max(0, digits - 1));
  int before = static_cast<int>(std::floor(std::log10(a))) + 1;  // digits before the point
  // Rounding may carry into one more digit (9.9996 -> "10.00"): format, then check.
  int decimals = std::max(0, digits - before);
  std::string out = fmt::format("{:.{}f}", v, decimals);
  double rounded = std::fabs(std::strtod(out.c_str(), nullptr));
  if (decimals > 0 && rounded >= std::pow(10.0, before))
    out = fmt::format("{:.{}f}", v, decimals - 1);
  return out;
}

std::string Scaled(double v, const Scale* scales, size_t n, const char* base, int digits) {
  double a = std::fabs(v);
  const Scale* pick = nullptr;
  for (size_t i = 0; i < n; ++i)
    if (a >= scales[i].factor) {
      pick = &scales[i];
      break;
    }
  if (pick == nullptr || v == 0) return Significant(v, digits) + " " + base;
  return Significant(v / pick->factor, digits) + " " + pick->suffix;
}

constexpr std::array<Scale, 4> kTime = {{{1, "s"}, {1e-3, "ms"}, {1e-6, "µs"}, {1e-9, "ns"}}};
constexpr std::array<Scale, 6> kBytes = {
    {{1e15, "PB"}, {1e12, "TB"}, {1e9, "GB"}, {1e6, "MB"}, {1e3, "kB"}, {1, "B"}}};

}  // namespace

std::string HumanNumber(double v, std::string_view unit, const NumberStyle& style) {
  if (style.raw || !std::isfinite(v)) {
    std::string out = common::FormatDouble(v);
    if (!unit.empty()) out += fmt::format(" {}", unit);
    return out;
  }
  int digits = style.precision;
  if (unit == "seconds") return Scaled(v, kTime.data(), kTime.size(), "s", digits);
  if (unit == "bytes") return Scaled(v, kBytes.data(), kBytes.size(), "B", digits);
  std::string out = Significant(v, digits);
  if (!unit.empty()) out += fmt::format(" {}", unit);
  return out;
}

std::string HumanRate(double per_second, std::string_view unit, const NumberStyle& style) {
  return HumanNumber(per_second, unit, style) + "/s";
}

std::string HumanCount(uint64_t v, std::string_view unit, const NumberStyle& style) {
  if (unit.empty() || style.raw) {
    std::string out = fmt::format_int(v).str();
    if (!unit.empty()) out += fmt::format(" {}", unit);
    return out;
  }
  return HumanNumber(static_cast<double>(v), unit, style);
}

namespace {
void UseUtf8Ctype() {
  if (std::setlocale(LC_CTYPE, "") != nullptr && std::strcmp(nl_langinfo(CODESET), "UTF-8") == 0)
    return;
  if (std::setlocale(LC_CTYPE, "C.UTF-8") == nullptr) std::setlocale(LC_CTYPE, "C");
}
}  // namespace

size_t DisplayWidth(std::string_view text) {
  bool ascii = true;
  for (char c : text) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) return text.size();
  // Not at start-up: reading the locale costs a short command a tenth of its run.
  static const bool utf8_ctype = (UseUtf8Ctype(), true);
  (void)utf8_ctype;
  std::mbstate_t state{};
  size_t cells = 0;
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    wchar_t wc = 0;
    size_t n = std::mbrtowc(&wc, p, end - p, &state);
    if (n == static_cast<size_t>(-1) || n == static_cast<size_t>(-2)) return text.size();
    if (n == 0) n = 1;
    int w = wcwidth(wc);
    cells += w < 0 ? 1 : static_cast<size_t>(w);
    p += n;
  }
  return cells;
}

std::string ClipToWidth(const std::string& text, size_t width) {
  if (DisplayWidth(text) <= width) return text;
  std::string out;
  for (size_t i = 0; i < text.size();) {
    size_t n = 1;
    while (i + n < text.size() && (static_cast<unsigned char>(text[i + n]) & 0xC0) == 0x80) ++n;
    if (DisplayWidth(out + text.substr(i, n)) + 1 > width) break;
    out += text.substr(i, n);
    i += n;
  }
  return out + "…";
}

std::string Bar(double fraction, int width) {
  static constexpr std::array<const char*, 8> kEighths = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
  if (!(fraction > 0)) return "";
  int eighths = static_cast<int>(std::lround(std::min(fraction, 1.0) * width * 8));
  if (eighths == 0) eighths = 1;  // a non-empty bucket is always visible
  std::string out;
  for (int i = 0; i < eighths / 8; ++i) out += "█";
  out += kEighths[eighths % 8];
  return out;
}

}  // namespace shmstats::statsctl
