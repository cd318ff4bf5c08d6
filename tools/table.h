// SPDX-License-Identifier: Apache-2.0
#pragma once

// statsctl's tables: series in listing order, their value column, and columns
// aligned in terminal cells.

#include <cstdio>
#include <string>
#include <vector>

#include "common/exposition.h"
#include "shmstats/shmstats.h"
#include "tools/command.h"
#include "tools/human.h"

namespace shmstats::statsctl {

using common::LabelsText;  // {k="v",...} after a name in tables

// The value column of a table: counter, gauge, or "count=..  sum=..  p50=.. ...",
// in `style` with the metric's unit (tools/human.h).
std::string ValueText(const MetricSnapshot& m, const NumberStyle& style);

// Metrics sorted by name, then labels: the order of every listing.
std::vector<const MetricSnapshot*> Sorted(const std::vector<MetricSnapshot>& metrics);

// What reset or delete took, sorted: with --json the document {"version", "segment",
// "metrics"} (each metric as common::ToJson has it, without buckets), else a table of
// NAME, LABELS, TYPE and `value_heading`.
void PrintTaken(const GlobalOptions& global, const std::vector<MetricSnapshot>& taken,
                const std::string& value_heading);

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
