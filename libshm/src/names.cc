// SPDX-License-Identifier: Apache-2.0
#include "names.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "layout.h"
#include "shmstats/error.h"

namespace shmstats {
namespace {

// The naming rules by table, one bit per rule a character may appear in (names are
// checked on every registration): a whole name is checked by AND-ing its
// characters' entries.
constexpr uint8_t kInMetricName = 1;  // letters, digits, '_' and ':'
constexpr uint8_t kInLabelName = 2;   // letters, digits and '_' (also a unit's rule)
constexpr uint8_t kStartsName = 4;    // letters and '_': the first of either name
constexpr auto kRules = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] = kInMetricName | kInLabelName | kStartsName;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = kInMetricName | kInLabelName | kStartsName;
  t['_'] = kInMetricName | kInLabelName | kStartsName;
  for (int c = '0'; c <= '9'; ++c) t[c] = kInMetricName | kInLabelName;
  t[':'] = kInMetricName;
  return t;
}();
uint8_t RulesOf(char c) { return kRules[static_cast<unsigned char>(c)]; }
bool IsAlpha(char c) { return (RulesOf(c) & kStartsName) != 0; }
// True if every character of s may appear under `rule`.
bool AllOf(std::string_view s, uint8_t rule) {
  uint8_t all = rule;
  for (char c : s) all &= RulesOf(c);
  return all == rule;
}

using Label = Labels::value_type;

[[noreturn]] void Invalid(const std::string& what) { throw Error(Errc::kInvalidArgument, what); }

bool IsValidLabelName(std::string_view s) {
  if (s.empty() || !IsAlpha(s[0])) return false;
  return AllOf(s, kInLabelName);
}

// True if s is UTF-8 without NUL bytes (a label value); plain ASCII is checked first.
bool IsValidLabelValue(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && static_cast<unsigned char>(s[i] - 1) < 0x7f) ++i;
  return i == s.size() || (s.find('\0', i) == std::string_view::npos && names::IsValidUtf8(s));
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
  return AllOf(s, kInMetricName);
}

bool IsValidUtf8(std::string_view s) noexcept {
  size_t i = 0;
  while (i < s.size() && static_cast<unsigned char>(s[i]) < 0x80) ++i;
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
  if (spec.unit.size() > kMaxUnitBytes || !AllOf(spec.unit, kInLabelName))
    Invalid("invalid unit '" + spec.unit + "' for '" + spec.name +
            "': use letters, digits and '_', at most " + std::to_string(kMaxUnitBytes) + " bytes");

  // Sorted by name through pointers (on the stack for the usual few labels):
  // registration must not copy every label.
  constexpr size_t kOnStack = 16;
  const size_t n = spec.labels.size();
  std::array<const Label*, kOnStack> on_stack;
  std::vector<const Label*> on_heap(n > kOnStack ? n : 0);
  const Label** sorted = n > kOnStack ? on_heap.data() : on_stack.data();
  size_t bytes = 0;
  for (size_t i = 0; i < n; ++i) {
    sorted[i] = &spec.labels[i];
    bytes += spec.labels[i].first.size() + spec.labels[i].second.size() + 2;
  }
  auto by_name = [](const Label* a, const Label* b) { return a->first < b->first; };
  if (n > kOnStack) {
    std::sort(sorted, sorted + n, by_name);
  } else {  // insertion sort: std::sort's set-up outweighs a few labels
    for (size_t i = 1; i < n; ++i)
      for (size_t j = i; j > 0 && by_name(sorted[j], sorted[j - 1]); --j)
        std::swap(sorted[j], sorted[j - 1]);
  }
  // Sized once, NULs in place: only names and values are copied in.
  std::string encoded(bytes, '\0');
  char* out = encoded.data();
  for (size_t i = 0; i < n; ++i) {
    const auto& [key, value] = *sorted[i];
    ValidateLabelName(key);
    if (i > 0 && sorted[i - 1]->first == key)
      Invalid("label '" + key + "' is given twice for '" + spec.name + "'");
    if (histogram && key == "le")
      Invalid("label 'le' is reserved for histogram buckets ('" + spec.name + "')");
    if (!IsValidLabelValue(value))
      Invalid("value of label '" + key + "' must be UTF-8 without NUL bytes");
    std::memcpy(out, key.data(), key.size());
    out += key.size() + 1;
    std::memcpy(out, value.data(), value.size());
    out += value.size() + 1;
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
