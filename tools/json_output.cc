// SPDX-License-Identifier: Apache-2.0
#include "tools/json_output.h"

#include <cstdio>

#include "common/exposition.h"

namespace shmstats::statsctl {

nlohmann::json JsonDocument(const GlobalOptions& global) {
  return {{"version", kJsonVersion}, {"segment", global.segment}};
}

void PrintJson(const nlohmann::json& doc) {
  std::string text = doc.dump(2);
  text.push_back('\n');
  std::fwrite(text.data(), 1, text.size(), stdout);
}

JsonMetricsWriter::JsonMetricsWriter(const nlohmann::json& head, bool with_buckets)
    : buffer_(head.dump()), with_buckets_(with_buckets) {
  buffer_.pop_back();  // the closing brace; head always has "version"
  buffer_.append(",\"metrics\":[");
}

void JsonMetricsWriter::Add(const MetricSnapshot& metric) {
  buffer_.append(first_ ? "\n" : ",\n");
  first_ = false;
  common::AppendJson(&buffer_, metric, with_buckets_);
  if (buffer_.size() > (1 << 16)) Flush();
}

void JsonMetricsWriter::Finish() {
  buffer_.append("\n]}\n");
  Flush();
}

void JsonMetricsWriter::Flush() {
  std::fwrite(buffer_.data(), 1, buffer_.size(), stdout);
  buffer_.clear();
}

}  // namespace shmstats::statsctl
