// SPDX-License-Identifier: Apache-2.0
// Writes a known history for the dashboard test: N one-minute ticks ending one
// minute before now, where tick i (1..N) has
//   dash_requests_total   delta 60*i      (a rate of i per second)
//   dash_queue_depth      gauge i
//   dash_latency_seconds  histogram, i observations in the 0.5 bucket and one in 4
// and, with WIDE, WIDE more counters dash_wide_total{i="0".."WIDE-1"} (delta i), for
// tests of the bounds on wide history queries.
// Usage: dashboard_seed DB N [WIDE]

#include <cstdio>
#include <cstdlib>
#include <string>

#include "history/store.h"
#include "history/time.h"

int main(int argc, char** argv) {
  using namespace shmstats;
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: dashboard_seed DB N [WIDE]\n");
    return 2;
  }
  const int n = std::atoi(argv[2]);
  const int wide = argc == 4 ? std::atoi(argv[3]) : 0;
  const int64_t minute = 60'000;
  const int64_t last = (history::NowMs() / minute - 1) * minute;
  auto store = history::OpenWriter(argv[1]);
  history::StoreWriter& writer = *store;
  for (int i = 1; i <= n; ++i) {
    history::TickRecord tick;
    tick.unix_ms = last - (n - i) * minute;
    tick.interval_ms = minute;
    MetricSnapshot c;
    c.name = "dash_requests_total";
    c.type = MetricType::kCounter;
    c.counter = 60 * static_cast<uint64_t>(i);
    MetricSnapshot g;
    g.name = "dash_queue_depth";
    g.type = MetricType::kGauge;
    g.gauge = i;
    MetricSnapshot h;
    h.name = "dash_latency_seconds";
    h.unit = "seconds";
    h.type = MetricType::kHistogram;
    h.histogram.bounds = {0.1, 1, 10};
    h.histogram.counts = {0, static_cast<uint64_t>(i), 0, 0};
    h.histogram.counts[2] = 1;
    h.histogram.count = i + 1;
    h.histogram.sum = 0.5 * i + 4;
    tick.samples = {c, g, h};
    for (int k = 0; k < wide; ++k) {
      MetricSnapshot w;
      w.name = "dash_wide_total";
      w.type = MetricType::kCounter;
      w.labels = {{"i", std::to_string(k)}};
      w.counter = static_cast<uint64_t>(k) * static_cast<uint64_t>(i);
      tick.samples.push_back(std::move(w));
    }
    writer.Write(tick, history::Retention{});
  }
  return 0;
}
