// SPDX-License-Identifier: Apache-2.0
#include "names.h"

#include <algorithm>
#include <vector>

#include "layout.h"
#include "shmstats/error.h"

namespace shmstats {
namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

using Label = Labels::value_type;

[[noreturn]] void Invalid(const std::string& what) { throw Error(Errc::kInvalidArgument, what); }

bool IsValidLabelName(std::string_view s) {
  if (s.empty() || !IsAlpha(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsAlpha(c) || IsDigit(c); });
}

}  // namespace

std::string_view TypeName(MetricType type) noexcept {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "unknown";
}

void ValidateMetricName(std::string_view name) {
  if (!names::IsValidMetricName(name))
    Invalid("invalid metric name '" + std::string(name) +
            "': use letters, digits, '_' and ':', not starting with a digit, at most " +
            std::to_string(kMaxNameBytes) + " bytes");
}

void ValidateLabelName(std::string_view name) {
  if (!IsValidLabelName(name))
    Invalid("invalid label name '" + std::string(name) +
            "': use letters, digits and '_', not starting with a digit");
  if (name.substr(0, 2) == "__")
    Invalid("invalid label name '" + std::string(name) + "': names starting '__' are reserved");
}

namespace names {

bool IsValidMetricName(std::string_view s) noexcept {
  if (s.empty() || s.size() > kMaxNameBytes) return false;
  if (!IsAlpha(s[0]) && s[0] != ':') return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsAlpha(c) || IsDigit(c) || c == ':'; });
}

bool IsValidUtf8(std::string_view s) noexcept {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
    if (len == 0 || i + len > s.size()) return false;
    uint32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    bool overlong =
        (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

const std::string& OverflowLabels() {
  static const std::string encoded = std::string(kOverflowLabel) + '\0' + "true" + '\0';
  return encoded;
}

std::string CheckSpecAndEncodeLabels(const MetricSpec& spec, bool histogram) {
  ValidateMetricName(spec.name);
  if (spec.help.size() > kMaxHelpBytes)
    Invalid("help text of '" + spec.name + "' is " + std::to_string(spec.help.size()) +
            " bytes; the limit is " + std::to_string(kMaxHelpBytes));
  if (!IsValidUtf8(spec.help)) Invalid("help text of '" + spec.name + "' is not valid UTF-8");
  if (spec.unit.size() > kMaxUnitBytes ||
      !std::all_of(spec.unit.begin(), spec.unit.end(),
                   [](char c) { return IsAlpha(c) || IsDigit(c); }))
    Invalid("invalid unit '" + spec.unit + "' for '" + spec.name +
            "': use letters, digits and '_', at most " + std::to_string(kMaxUnitBytes) + " bytes");

  // Sorted by name through pointers: registration must not copy every label.
  std::vector<const Label*> sorted(spec.labels.size());
  size_t bytes = 0;
  for (size_t i = 0; i < spec.labels.size(); ++i) {
    sorted[i] = &spec.labels[i];
    bytes += spec.labels[i].first.size() + spec.labels[i].second.size() + 2;
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const Label* a, const Label* b) { return a->first < b->first; });
  std::string encoded;
  encoded.reserve(bytes);
  for (size_t i = 0; i < sorted.size(); ++i) {
    const auto& [key, value] = *sorted[i];
    ValidateLabelName(key);
    if (i > 0 && sorted[i - 1]->first == key)
      Invalid("label '" + key + "' is given twice for '" + spec.name + "'");
    if (histogram && key == "le")
      Invalid("label 'le' is reserved for histogram buckets ('" + spec.name + "')");
    if (value.find('\0') != std::string::npos || !IsValidUtf8(value))
      Invalid("value of label '" + key + "' must be UTF-8 without NUL bytes");
    encoded.append(key).push_back('\0');
    encoded.append(value).push_back('\0');
  }
  if (encoded.size() > kMaxLabelBytes)
    Invalid("labels of '" + spec.name + "' take " + std::to_string(encoded.size()) +
            " bytes; the limit is " + std::to_string(kMaxLabelBytes) +
            " (names plus values plus 2 per pair)");
  return encoded;
}

bool DecodeLabels(std::string_view encoded, Labels* out, std::string* why) {
  out->clear();
  // Each pair ends in two NULs: one allocation of the right size, not one per growth.
  out->reserve(static_cast<size_t>(std::count(encoded.begin(), encoded.end(), '\0')) / 2);
  size_t pos = 0;
  while (pos < encoded.size()) {
    size_t key_end = encoded.find('\0', pos);
    if (key_end == std::string_view::npos) return *why = "label name not terminated", false;
    size_t value_end = encoded.find('\0', key_end + 1);
    if (value_end == std::string_view::npos) return *why = "label value not terminated", false;
    std::string_view key = encoded.substr(pos, key_end - pos);
    std::string_view value = encoded.substr(key_end + 1, value_end - key_end - 1);
    if (!IsValidLabelName(key) || key.substr(0, 2) == "__")
      return *why = "invalid label name", false;
    if (!out->empty() && out->back().first >= key) return *why = "labels not sorted", false;
    if (!IsValidUtf8(value)) return *why = "label value is not UTF-8", false;
    out->emplace_back(std::string(key), std::string(value));
    pos = value_end + 1;
  }
  return true;
}

namespace {
uint64_t Fnv1a(uint64_t h, std::string_view bytes) noexcept {
  for (char c : bytes) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  return h;
}
// FNV's low bits are weak; fold the high ones in.
uint64_t Fold(uint64_t h) noexcept { return (h ^ (h >> 29)) & layout::kHashMask; }
}  // namespace

// FNV-1a over name \0 labels.
uint64_t KeyHash(std::string_view name, std::string_view encoded_labels) noexcept {
  return Fold(Fnv1a(Fnv1a(0xcbf29ce484222325ull, name) * 0x100000001b3ull, encoded_labels));
}

uint64_t KeyHashes(std::string_view name, std::string_view encoded_labels,
                   uint64_t* family) noexcept {
  uint64_t named = Fnv1a(0xcbf29ce484222325ull, name) * 0x100000001b3ull;
  *family = Fold(named);
  return Fold(Fnv1a(named, encoded_labels));
}

}  // namespace names
}  // namespace shmstats
