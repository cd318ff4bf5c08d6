// SPDX-License-Identifier: Apache-2.0
#pragma once

// NaN, the infinities and -0 as gauge values, written over three ticks, and what
// every store must give back for them (raw rows and hourly rollups alike): the
// values exactly; min and max skip NaN, as PromQL's min_over_time and
// max_over_time do.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "history/accum.h"
#include "history/query.h"
#include "history_samples.h"

namespace shmstats::history::test {

// Tick i (1 to 3): nan_g, inf_g, ninf_g, nzero_g always; mixed_g 1, NaN, 3.
inline std::vector<MetricSnapshot> NonFiniteGauges(int i) {
  const double kNaN = std::numeric_limits<double>::quiet_NaN();
  const double kInf = std::numeric_limits<double>::infinity();
  return {Gauge("nan_g", kNaN), Gauge("inf_g", kInf), Gauge("ninf_g", -kInf),
          Gauge("nzero_g", -0.0), Gauge("mixed_g", i == 2 ? kNaN : i)};
}

// The five series of the three ticks, one point each.
inline void CheckNonFiniteGauges(const std::vector<SeriesHistory>& r, const char* how) {
  const double kInf = std::numeric_limits<double>::infinity();
  ASSERT_EQ(r.size(), 5u) << how;
  for (const auto& s : r) {
    ASSERT_EQ(s.points.size(), 1u) << how << " " << s.series.metric.name;
    const Accum& a = s.points[0].acc;
    const std::string& n = s.series.metric.name;
    SCOPED_TRACE(std::string(how) + " " + n);
    EXPECT_EQ(a.samples, 3);
    if (n == "nan_g") {
      EXPECT_TRUE(std::isnan(a.last) && std::isnan(a.min) && std::isnan(a.max));
    } else if (n == "inf_g") {
      EXPECT_EQ(a.last, kInf);
      EXPECT_EQ(a.min, kInf);
      EXPECT_EQ(a.Avg(), kInf);
    } else if (n == "ninf_g") {
      EXPECT_EQ(a.last, -kInf);
      EXPECT_EQ(a.max, -kInf);
    } else if (n == "nzero_g") {
      EXPECT_TRUE(a.last == 0 && std::signbit(a.last));
      EXPECT_TRUE(std::signbit(a.min) && std::signbit(a.Avg()));
    } else {
      EXPECT_EQ(a.last, 3.0);
      EXPECT_EQ(a.min, 1.0);
      EXPECT_EQ(a.max, 3.0);
      EXPECT_TRUE(std::isnan(a.Avg()));
    }
  }
}

}  // namespace shmstats::history::test
