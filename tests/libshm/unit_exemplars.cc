// SPDX-License-Identifier: Apache-2.0
// Exemplars stored with their series: one per counter, one per histogram bucket,
// OpenMetrics' 128-character limit, a full region dropping them (never the record),
// a dead writer's record taken over, and no torn exemplar while threads write and
// read at once.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "shmstats/shmstats_c.h"
#include "unit_fixture.h"

namespace shmstats {
namespace {

using testing_util::ErrorOf;
using testing_util::Spec;

class ExemplarTest : public testing_util::SegmentFixture {};

double Now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

TEST_F(ExemplarTest, CounterKeepsItsLastExemplarWithLabelsInTheirOrder) {
  FloatCounter c = segment_.RegisterFloatCounter(Spec("requests_total", {{"path", "/"}}));
  EXPECT_TRUE(Find("requests_total", {{"path", "/"}}).exemplars.empty());
  const double before = Now();
  c.Inc(0.5);
  EXPECT_EQ(segment_.StoreExemplar(c, 0.5, {{"trace_id", "abc"}, {"span_id", "1"}}),
            ExemplarResult::kStored);
  MetricSnapshot m = Find("requests_total", {{"path", "/"}});
  ASSERT_EQ(m.exemplars.size(), 1u);
  ASSERT_TRUE(m.exemplars[0]);
  EXPECT_EQ(m.exemplars[0]->labels, (Labels{{"trace_id", "abc"}, {"span_id", "1"}}));
  EXPECT_EQ(m.exemplars[0]->value, 0.5);
  EXPECT_GE(m.exemplars[0]->timestamp, before - 1);
  EXPECT_LE(m.exemplars[0]->timestamp, Now() + 1);
  EXPECT_EQ(m.counter_double, 0.5);  // storing an exemplar records nothing
  segment_.StoreExemplar(c, 2, {{"trace_id", "def"}});
  m = Find("requests_total", {{"path", "/"}});
  EXPECT_EQ(m.exemplars[0]->labels, (Labels{{"trace_id", "def"}}));
  EXPECT_EQ(m.exemplars[0]->value, 2);

  Counter ints = segment_.RegisterCounter(Spec("ints_total"));
  EXPECT_EQ(segment_.StoreExemplar(ints, 1, {}), ExemplarResult::kStored);
  EXPECT_TRUE(Find("ints_total").exemplars.at(0)->labels.empty());
}

TEST_F(ExemplarTest, HistogramKeepsOneExemplarPerBucket) {
  Histogram h = segment_.RegisterHistogram(Spec("latency"), ExplicitBuckets{{1, 2, 5}});
  segment_.StoreExemplar(h, 0.5, {{"trace_id", "a"}});
  segment_.StoreExemplar(h, 4, {{"trace_id", "b"}});
  segment_.StoreExemplar(h, 9, {{"trace_id", "c"}});
  segment_.StoreExemplar(h, 0.7, {{"trace_id", "d"}});  // replaces a
  MetricSnapshot m = Find("latency");
  ASSERT_EQ(m.exemplars.size(), 4u);
  EXPECT_EQ(m.exemplars[0]->labels, (Labels{{"trace_id", "d"}}));
  EXPECT_EQ(m.exemplars[0]->value, 0.7);
  EXPECT_FALSE(m.exemplars[1]);
  EXPECT_EQ(m.exemplars[2]->value, 4);
  EXPECT_EQ(m.exemplars[3]->labels, (Labels{{"trace_id", "c"}}));
}

TEST_F(ExemplarTest, RefusesWhatOpenMetricsRefuses) {
  FloatCounter c = segment_.RegisterFloatCounter(Spec("c_total"));
  // 128 characters (multi-byte ones count once) pass; 129 do not.
  EXPECT_EQ(segment_.StoreExemplar(c, 1, {{"trace_id", std::string(120, 'x')}}),
            ExemplarResult::kStored);
  std::string wide;
  for (int i = 0; i < 120; ++i) wide += "\xf0\x9f\x98\x80";  // U+1F600, 4 bytes
  EXPECT_EQ(segment_.StoreExemplar(c, 1, {{"trace_id", wide}}), ExemplarResult::kStored);
  EXPECT_EQ(Find("c_total").exemplars[0]->labels[0].second, wide);
  EXPECT_NE(ErrorOf(
                [&] {
                  segment_.StoreExemplar(c, 1, {{"trace_id", wide + "x"}});
                },
                Errc::kInvalidArgument)
                .find("exceeding the limit of 128"),
            std::string::npos);
  ErrorOf([&] { segment_.StoreExemplar(c, 1, {{"bad-name", "1"}}); }, Errc::kInvalidArgument);
  ErrorOf([&] { segment_.StoreExemplar(c, 1, {{"v", "\xff"}}); }, Errc::kInvalidArgument);
  Histogram h = segment_.RegisterHistogram(Spec("h"), ExplicitBuckets{{1}});
  ErrorOf([&] { segment_.StoreExemplar(h, NAN, {{"a", "b"}}); }, Errc::kInvalidArgument);
  ErrorOf([&] { segment_.StoreExemplar(FloatCounter(), 1, {{"a", "b"}}); }, Errc::kInvalidArgument);
  MetricSpec process = Spec("p_total");
  process.scope = Scope::kProcess;
  Counter pc = segment_.RegisterCounter(process);
  ErrorOf([&] { segment_.StoreExemplar(pc, 1, {{"a", "b"}}); }, Errc::kInvalidArgument);
  EXPECT_EQ(Find("c_total").exemplars[0]->labels[0].second, wide);  // unchanged
}

TEST_F(ExemplarTest, AFullRegionDropsExemplarsNeverRecords) {
  SegmentOptions o = testing_util::SmallOptions();
  o.exemplar_records = 3;
  Recreate(o);
  Histogram h = segment_.RegisterHistogram(Spec("h"), ExplicitBuckets{{1, 2, 5}});  // 4 buckets
  FloatCounter c = segment_.RegisterFloatCounter(Spec("c_total"));
  h.Observe(1);
  EXPECT_EQ(segment_.StoreExemplar(h, 1, {{"a", "b"}}), ExemplarResult::kNoRoom);
  EXPECT_EQ(segment_.StoreExemplar(c, 1, {{"a", "b"}}), ExemplarResult::kStored);
  EXPECT_EQ(Find("h").histogram.count, 1u);
  EXPECT_TRUE(Find("h").exemplars.empty());

  o.exemplar_records = 0;  // no region at all, as in a segment made before exemplars
  Recreate(o);
  c = segment_.RegisterFloatCounter(Spec("c_total"));
  EXPECT_EQ(segment_.StoreExemplar(c, 1, {{"a", "b"}}), ExemplarResult::kNoRoom);
  EXPECT_TRUE(Find("c_total").exemplars.empty());
  Segment reopened = Segment::Open(name());
  EXPECT_EQ(reopened.Read().metrics.size(), 1u);
}

TEST_F(ExemplarTest, ADeadWritersRecordIsTakenOver) {
  FloatCounter c = segment_.RegisterFloatCounter(Spec("c_total"));
  segment_.StoreExemplar(c, 1, {{"trace_id", "first"}});
  // A writer killed midway: seq odd, its pid in the writer word.
  pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  // The record is the region's first (the only series with exemplars).
  const int fd = open(path().c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  layout::Header header{};
  ASSERT_EQ(pread(fd, &header, sizeof header, 0), static_cast<ssize_t>(sizeof header));
  const off_t record = static_cast<off_t>(header.exemplar_offset);
  uint64_t seq = 0, writer = static_cast<uint64_t>(child);
  ASSERT_EQ(pread(fd, &seq, 8, record), 8);
  ++seq;  // odd: being written
  ASSERT_EQ(pwrite(fd, &seq, 8, record), 8);
  ASSERT_EQ(pwrite(fd, &writer, 8, record + 8), 8);
  close(fd);
  EXPECT_TRUE(Find("c_total").exemplars.at(0) == std::nullopt);  // never torn, just absent
  EXPECT_EQ(segment_.StoreExemplar(c, 2, {{"trace_id", "second"}}), ExemplarResult::kStored);
  MetricSnapshot m = Find("c_total");
  ASSERT_TRUE(m.exemplars.at(0));
  EXPECT_EQ(m.exemplars[0]->labels, (Labels{{"trace_id", "second"}}));
}

// Every exemplar written carries its value in the length and letters of its labels;
// a reader that ever saw a mix of two writes would see them disagree.
TEST_F(ExemplarTest, ConcurrentWritersAndReadersNeverSeeATornExemplar) {
  Histogram h = segment_.RegisterHistogram(Spec("h"), ExplicitBuckets{{1000}});
  constexpr int kWriters = 3, kWrites = 20000;
  std::atomic<bool> done{false};
  std::atomic<long> stored{0}, checked{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kWrites; ++i) {
        const int n = 1 + (i * 7 + w * 13) % 60;
        const std::string v(n, static_cast<char>('a' + n % 26));
        if (segment_.StoreExemplar(h, n, {{"k", v}, {"n", std::to_string(n)}}) ==
            ExemplarResult::kStored)
          ++stored;
      }
    });
  }
  std::thread reader([&] {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!done && std::chrono::steady_clock::now() < end) {
      MetricSnapshot m = Find("h");
      if (m.exemplars.empty() || !m.exemplars[0]) continue;
      const Exemplar& e = *m.exemplars[0];
      const int n = static_cast<int>(e.value);
      ASSERT_EQ(e.labels.size(), 2u);
      ASSERT_EQ(e.labels[0].second, std::string(n, static_cast<char>('a' + n % 26)));
      ASSERT_EQ(e.labels[1].second, std::to_string(n));
      ++checked;
    }
  });
  for (auto& t : writers) t.join();
  done = true;
  reader.join();
  EXPECT_GT(stored.load(), 0);
  EXPECT_GT(checked.load(), 0);
}

TEST_F(ExemplarTest, TheCAbiStoresThem) {
  shmstats_segment* seg = nullptr;
  ASSERT_EQ(shmstats_segment_open(name().c_str(), 0, &seg), SHMSTATS_OK);
  shmstats_metric_options o;
  shmstats_metric_options_init(&o);
  o.name = "c_total";
  shmstats_float_counter c;
  ASSERT_EQ(shmstats_register_float_counter(seg, &o, &c), SHMSTATS_OK);
  shmstats_label l[] = {{"trace_id", "abc"}};
  shmstats_float_counter_inc(c, 1);
  EXPECT_EQ(shmstats_float_counter_exemplar(seg, &c, 1, l, 1), SHMSTATS_OK);
  shmstats_label bad[] = {{"bad-name", "x"}};
  EXPECT_EQ(shmstats_float_counter_exemplar(seg, &c, 1, bad, 1), SHMSTATS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(shmstats_last_error()).find("bad-name"), std::string::npos);
  double bounds[] = {1, 2};
  o.name = "h";
  o.bucket_kind = SHMSTATS_BUCKETS_EXPLICIT;
  o.bounds = bounds;
  o.n_bounds = 2;
  shmstats_histogram h;
  ASSERT_EQ(shmstats_register_histogram(seg, &o, &h), SHMSTATS_OK);
  EXPECT_EQ(shmstats_histogram_exemplar(seg, &h, 1.5, l, 1), SHMSTATS_OK);
  shmstats_segment_close(seg);
  EXPECT_EQ(Find("c_total").exemplars.at(0)->labels, (Labels{{"trace_id", "abc"}}));
  MetricSnapshot m = Find("h");
  ASSERT_EQ(m.exemplars.size(), 3u);
  EXPECT_EQ(m.exemplars[1]->value, 1.5);
}

}  // namespace
}  // namespace shmstats
