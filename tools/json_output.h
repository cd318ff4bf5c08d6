// SPDX-License-Identifier: Apache-2.0
#pragma once

// statsctl's JSON output: every document starts with {"version", "segment"} and is
// written to stdout whole (PrintJson) or a metric at a time (JsonMetricsWriter).

#include <nlohmann/json.hpp>
#include <string>

#include "shmstats/shmstats.h"
#include "tools/command.h"

namespace shmstats::statsctl {

// {"version": kJsonVersion, "segment": <name>}, the start of every document.
nlohmann::json JsonDocument(const GlobalOptions& global);
void PrintJson(const nlohmann::json& doc);

// Prints a document with a "metrics" array item by item: `head` (which has every
// other field) first, then one metric per line, as common::ToJson has it. A 10,000-metric listing
// thus never exists as one JSON tree. The output is one JSON document, as PrintJson's.
class JsonMetricsWriter {
 public:
  JsonMetricsWriter(const nlohmann::json& head, bool with_buckets);
  void Add(const MetricSnapshot& metric);
  // Closes the document and writes what is buffered.
  void Finish();

 private:
  void Flush();
  std::string buffer_;
  bool with_buckets_;
  bool first_ = true;
};

}  // namespace shmstats::statsctl
