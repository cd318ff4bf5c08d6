#pragma once

// Helpers shared by statsctl's subcommands: strict parsing of command-line values,
// opening the segment, display of series, JSON documents and aligned tables.
// Parse* functions throw CommandError(kUsage) with a message saying what to write.

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "command.h"
#include "common/exposition.h"
#include "selector.h"
#include "shmstats/shmstats.h"

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

Segment OpenSegment(const GlobalOptions& global, Access access);

// Reads the segment read-only. When that fails and --json is set, first prints
// `head` with "metrics": [] so that a script piping into jq always gets a document
// (the exit status, 3, says the segment was the problem); then rethrows.
Snapshot ReadOrPrintEmpty(const GlobalOptions& global, const nlohmann::json& head);

using common::LabelsText;  // {k="v",...} after a name in tables

// The value column of a table: counter, gauge, or "count=..  sum=..  p50=.. ...",
// in `style` with the metric's unit (tools/human.h).
std::string ValueText(const MetricSnapshot& m, const NumberStyle& style);

// Metrics sorted by name, then labels: the order of every listing.
std::vector<const MetricSnapshot*> Sorted(const std::vector<MetricSnapshot>& metrics);

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

// Prints what `statsctl info` shows (cmd_info.cc); `create` shows it too.
Exit PrintInfo(const GlobalOptions& global, const Segment& segment);

// Columns padded to their widest cell in terminal cells (DisplayWidth); the last
// column is not padded.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void Print(std::FILE* out) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace shmstats::statsctl
