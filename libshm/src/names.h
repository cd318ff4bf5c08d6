// SPDX-License-Identifier: Apache-2.0
#pragma once

// Naming rules and the label encoding stored in descriptors. Private to libshm.

#include <cstdint>
#include <string>
#include <string_view>

#include "shmstats/metric_spec.h"

namespace shmstats::names {

// Validates every field of spec and returns its labels encoded as stored
// (name\0value\0..., sorted by name). Throws Error(kInvalidArgument).
std::string CheckSpecAndEncodeLabels(const MetricSpec& spec, bool histogram);

// Decodes stored labels; returns false (with *why set) if the bytes break the rules.
bool DecodeLabels(std::string_view encoded, Labels* out, std::string* why);

// True if name follows the metric-name rule (used on untrusted segment bytes too).
bool IsValidMetricName(std::string_view name) noexcept;
bool IsValidUtf8(std::string_view s) noexcept;

// The encoded labels of a family's overflow series: {otel_metric_overflow="true"}.
const std::string& OverflowLabels();

// The 62-bit key hash stored in a descriptor's state word.
uint64_t KeyHash(std::string_view name, std::string_view encoded_labels) noexcept;
// KeyHash(name, encoded_labels), and KeyHash(name, "") (the family's) in *family, in
// one pass over the name.
uint64_t KeyHashes(std::string_view name, std::string_view encoded_labels,
                   uint64_t* family) noexcept;

}  // namespace shmstats::names
