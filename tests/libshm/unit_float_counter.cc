// SPDX-License-Identifier: Apache-2.0
// Float counters: counters of doubles (FloatCounter, shmstats_float_counter), read,
// reset and exposed with their fractions; a distinct kind of series from the integer
// counter of the same key.

#include <gtest/gtest.h>

#include <cmath>
#include <thread>
#include <vector>

#include "shmstats/shmstats_c.h"
#include "unit_fixture.h"

namespace shmstats {
namespace {

using testing_util::ErrorOf;
using testing_util::Spec;

class FloatCounterTest : public testing_util::SegmentFixture {};

TEST_F(FloatCounterTest, KeepsFractionsAsPrometheusClientDoes) {
  FloatCounter c = segment_.RegisterFloatCounter(Spec("work_seconds_total"));
  double expected = 0;
  for (int i = 0; i < 10; ++i) {
    c.Inc(0.1);
    expected += 0.1;  // the same additions in the same order: the same double
  }
  MetricSnapshot m = Find("work_seconds_total");
  EXPECT_EQ(m.type, MetricType::kCounter);
  EXPECT_TRUE(m.fractional);
  EXPECT_EQ(m.counter_double, expected);
  EXPECT_NEAR(m.counter_double, 1.0, std::nextafter(1.0, 2.0) - 1.0);
  EXPECT_EQ(m.counter, 0u);  // the whole part of 0.9999999999999999
  c.Inc(0.5);
  EXPECT_EQ(Find("work_seconds_total").counter, 1u);
}

TEST_F(FloatCounterTest, IntegersExactTo2To53AndHugeValuesNeverWrap) {
  FloatCounter c = segment_.RegisterFloatCounter(Spec("big_total"));
  c.Inc(0x1p53 - 1);
  c.Inc(1);
  EXPECT_EQ(Find("big_total").counter_double, 0x1p53);
  c.Inc(1e30);
  MetricSnapshot m = Find("big_total");
  EXPECT_EQ(m.counter_double, 1e30 + 0x1p53);
  EXPECT_EQ(m.counter, ~uint64_t{0});  // clamped, never wrapped
}

TEST_F(FloatCounterTest, NegativeAndNanIncrementsAreIgnored) {
  FloatCounter c = segment_.RegisterFloatCounter(Spec("n_total"));
  c.Inc(2.5);
  c.Inc(-1);
  c.Inc(std::nan(""));
  EXPECT_EQ(Find("n_total").counter_double, 2.5);
}

TEST_F(FloatCounterTest, ResetMovesTheValueAndLosesNoIncrement) {
  FloatCounter c = segment_.RegisterFloatCounter(Spec("r_total"));
  c.Inc(1.25);
  auto taken = segment_.Reset([](const MetricSnapshot& m) { return m.name == "r_total"; });
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].counter_double, 1.25);
  c.Inc(0.5);
  MetricSnapshot m = Find("r_total");
  EXPECT_EQ(m.counter_double, 0.5);
  EXPECT_EQ(m.counter_double + m.counter_double_reset_total, 1.75);
}

TEST_F(FloatCounterTest, ThreadsAddExactly) {
  FloatCounter c = segment_.RegisterFloatCounter(Spec("t_total"));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([c] {
      for (int i = 0; i < 100000; ++i) c.Inc(0.5);  // halves add exactly
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(Find("t_total").counter_double, 200000.0);
}

TEST_F(FloatCounterTest, IsNotTheIntegerCounterOfTheSameKey) {
  segment_.RegisterFloatCounter(Spec("k_total"));
  EXPECT_NE(ErrorOf([&] { segment_.RegisterCounter(Spec("k_total")); }, Errc::kTypeMismatch)
                .find("float counter"),
            std::string::npos);
  segment_.RegisterCounter(Spec("i_total"));
  ErrorOf([&] { segment_.RegisterFloatCounter(Spec("i_total")); }, Errc::kTypeMismatch);
  MetricSpec process = Spec("p_total");
  process.scope = Scope::kProcess;
  ErrorOf([&] { segment_.RegisterFloatCounter(process); }, Errc::kInvalidArgument);
}

TEST_F(FloatCounterTest, CAbiRecordsAndReads) {
  shmstats_segment* seg = nullptr;
  ASSERT_EQ(shmstats_segment_open(name().c_str(), 0, &seg), SHMSTATS_OK);
  shmstats_metric_options o;
  shmstats_metric_options_init(&o);
  o.name = "c_total";
  shmstats_float_counter c;
  ASSERT_EQ(shmstats_register_float_counter(seg, &o, &c), SHMSTATS_OK);
  shmstats_float_counter_inc(c, 0.75);
  shmstats_ffi_float_counter_inc(&c, 0.5);
  shmstats_snapshot* snap = nullptr;
  ASSERT_EQ(shmstats_snapshot_read(seg, &snap), SHMSTATS_OK);
  ASSERT_EQ(shmstats_snapshot_count(snap), 1u);
  const shmstats_metric_value* v = shmstats_snapshot_metric(snap, 0);
  EXPECT_EQ(v->fractional, 1);
  EXPECT_EQ(v->counter_double, 1.25);
  EXPECT_EQ(v->counter, 1u);
  shmstats_snapshot_free(snap);
  o.striping = SHMSTATS_STRIPING_PER_CPU;
  EXPECT_EQ(shmstats_register_float_counter(seg, &o, &c), SHMSTATS_INVALID_ARGUMENT);
  shmstats_segment_close(seg);
}

}  // namespace
}  // namespace shmstats
