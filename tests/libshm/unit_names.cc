// SPDX-License-Identifier: Apache-2.0
// Prometheus naming and label rules, and the length limits of a descriptor: bad
// input is refused with kInvalidArgument naming what was wrong, and nothing is
// registered.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "unit_fixture.h"

namespace shmstats {
namespace {

using ::testing::HasSubstr;
using testing_util::ErrorOf;
using testing_util::Spec;

class NamingTest : public testing_util::SegmentFixture {
 protected:
  // Registering `spec` as a counter must fail with kInvalidArgument and leave the
  // segment untouched; returns the message.
  std::string Refused(const MetricSpec& spec) {
    std::string message = ErrorOf([&] { segment_.RegisterCounter(spec); }, Errc::kInvalidArgument);
    EXPECT_TRUE(segment_.Read().metrics.empty());
    EXPECT_EQ(segment_.Info().registrations_refused, 0u) << "bad input is not a full segment";
    return message;
  }
};

TEST(MetricNameTest, AcceptsPrometheusNames) {
  for (std::string name : {"a", "_", ":", "http_requests_total", "ns:sub_metric:rate5m", "A1",
                           "_private", "x0123456789"}) {
    EXPECT_NO_THROW(ValidateMetricName(name)) << name;
  }
  EXPECT_NO_THROW(ValidateMetricName(std::string(kMaxNameBytes, 'n')));
}

TEST(MetricNameTest, RefusesOthersNamingTheRule) {
  for (std::string name :
       {"", "1abc", "a-b", "a b", "a.b", "caf\xc3\xa9", "a/b", "tab\t", "quote\"", "{x}"}) {
    SCOPED_TRACE(name);
    EXPECT_THAT(ErrorOf([&] { ValidateMetricName(name); }, Errc::kInvalidArgument),
                HasSubstr("invalid metric name '" + name + "'"));
  }
  ErrorOf([&] { ValidateMetricName(std::string("a\0b", 3)); }, Errc::kInvalidArgument);
  ErrorOf([&] { ValidateMetricName(std::string(kMaxNameBytes + 1, 'n')); }, Errc::kInvalidArgument);
}

TEST(LabelNameTest, AcceptsPrometheusLabelNames) {
  for (std::string name : {"a", "_a", "A_1", "le", "quantile", "job"})
    EXPECT_NO_THROW(ValidateLabelName(name)) << name;
}

TEST(LabelNameTest, RefusesInvalidAndReservedNames) {
  for (std::string name : {"", "1a", "a-b", "a:b", "a b", "caf\xc3\xa9"}) {
    SCOPED_TRACE(name);
    EXPECT_THAT(ErrorOf([&] { ValidateLabelName(name); }, Errc::kInvalidArgument),
                HasSubstr("invalid label name"));
  }
  for (std::string name : {"__name__", "__x", "__"}) {
    SCOPED_TRACE(name);
    EXPECT_THAT(ErrorOf([&] { ValidateLabelName(name); }, Errc::kInvalidArgument),
                HasSubstr("reserved"));
  }
}

TEST_F(NamingTest, RegistrationChecksTheMetricName) {
  EXPECT_THAT(Refused(Spec("9lives")), HasSubstr("9lives"));
  Refused(Spec(""));
  Refused(Spec(std::string(kMaxNameBytes + 1, 'n')));
  EXPECT_NO_THROW(segment_.RegisterCounter(Spec(std::string(kMaxNameBytes, 'n'))));
}

TEST_F(NamingTest, RegistrationChecksLabelNames) {
  EXPECT_THAT(Refused(Spec("m", {{"bad-name", "v"}})), HasSubstr("bad-name"));
  EXPECT_THAT(Refused(Spec("m", {{"__name__", "v"}})), HasSubstr("reserved"));
  Refused(Spec("m", {{"", "v"}}));
}

TEST_F(NamingTest, DuplicateLabelNamesAreRefused) {
  EXPECT_THAT(Refused(Spec("m", {{"tool", "a"}, {"x", "1"}, {"tool", "b"}})),
              HasSubstr("'tool' is given twice"));
  Refused(Spec("m", {{"tool", "a"}, {"tool", "a"}}));
}

TEST_F(NamingTest, LeIsReservedOnHistogramsOnly) {
  EXPECT_THAT(ErrorOf(
                  [&] {
                    segment_.RegisterHistogram(Spec("h", {{"le", "1"}}), ExplicitBuckets{{1, 2}});
                  },
                  Errc::kInvalidArgument),
              HasSubstr("'le'"));
  EXPECT_NO_THROW(segment_.RegisterCounter(Spec("c", {{"le", "1"}})));
  EXPECT_NO_THROW(
      segment_.RegisterHistogram(Spec("h", {{"quantile", "1"}}), ExplicitBuckets{{1, 2}}));
}

TEST_F(NamingTest, LabelValuesMustBeUtf8WithoutNul) {
  for (std::string value : {std::string("\xff"), std::string("\xc0\x80"),  // overlong NUL
                            std::string("\xed\xa0\x80"),                   // surrogate
                            std::string("\xf4\x90\x80\x80"),               // > U+10FFFF
                            std::string("abc\xe2\x82"),                    // truncated
                            std::string("a\0b", 3)}) {
    SCOPED_TRACE(::testing::PrintToString(value));
    EXPECT_THAT(Refused(Spec("m", {{"path", value}})), HasSubstr("UTF-8"));
  }
}

TEST_F(NamingTest, AnyUtf8LabelValueIsKeptExactly) {
  Labels labels = {
      {"path", "/caf\xc3\xa9/\xf0\x9f\x98\x80"}, {"quote", "say \"hi\"\\n\n"}, {"empty", ""}};
  segment_.RegisterCounter(Spec("m", labels)).Inc();
  Labels sorted = {labels[2], labels[0], labels[1]};
  EXPECT_EQ(Find("m", sorted).counter, 1u);
}

TEST_F(NamingTest, HelpAndUnitLimits) {
  EXPECT_NO_THROW(
      segment_.RegisterCounter(Spec("ok_total", {}, std::string(kMaxHelpBytes, 'h'), "seconds")));
  EXPECT_NO_THROW(
      segment_.RegisterCounter(Spec("ok2_total", {}, "", std::string(kMaxUnitBytes, 'u'))));
  Recreate(testing_util::SmallOptions());
  EXPECT_THAT(Refused(Spec("m", {}, std::string(kMaxHelpBytes + 1, 'h'))),
              HasSubstr(std::to_string(kMaxHelpBytes)));
  EXPECT_THAT(Refused(Spec("m", {}, "caf\xe9")), HasSubstr("UTF-8"));
  EXPECT_THAT(Refused(Spec("m", {}, "", std::string(kMaxUnitBytes + 1, 'u'))), HasSubstr("unit"));
  EXPECT_THAT(Refused(Spec("m", {}, "", "milli-seconds")), HasSubstr("milli-seconds"));
}

TEST_F(NamingTest, EncodedLabelsHaveALimit) {
  // One pair encodes as name\0value\0: "k" + 2 + value.
  std::string fits(kMaxLabelBytes - 3, 'v');
  EXPECT_NO_THROW(segment_.RegisterCounter(Spec("m", {{"k", fits}})));
  Recreate(testing_util::SmallOptions());
  EXPECT_THAT(Refused(Spec("m", {{"k", fits + "v"}})), HasSubstr(std::to_string(kMaxLabelBytes)));
}

TEST_F(NamingTest, LabelOrderDoesNotMatter) {
  Counter a = segment_.RegisterCounter(Spec("calls_total", {{"tool", "x"}, {"a", "1"}}));
  Counter b = segment_.RegisterCounter(Spec("calls_total", {{"a", "1"}, {"tool", "x"}}));
  a.Inc(2);
  b.Inc(3);
  Snapshot snap = segment_.Read();
  ASSERT_EQ(snap.metrics.size(), 1u);
  EXPECT_EQ(snap.metrics[0].counter, 5u);
  EXPECT_EQ(snap.metrics[0].labels, (Labels{{"a", "1"}, {"tool", "x"}}));
}

TEST_F(NamingTest, LabelValuesDistinguishSeries) {
  segment_.RegisterCounter(Spec("calls_total", {{"tool", "x"}})).Inc(1);
  segment_.RegisterCounter(Spec("calls_total", {{"tool", "y"}})).Inc(2);
  segment_.RegisterCounter(Spec("calls_total")).Inc(3);
  EXPECT_EQ(segment_.Read().metrics.size(), 3u);
  EXPECT_EQ(Find("calls_total", {{"tool", "x"}}).counter, 1u);
  EXPECT_EQ(Find("calls_total", {{"tool", "y"}}).counter, 2u);
  EXPECT_EQ(Find("calls_total").counter, 3u);
}

}  // namespace
}  // namespace shmstats
