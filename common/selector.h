// SPDX-License-Identifier: Apache-2.0
#pragma once

// Metric selectors shared by statsctl and shmstatsd. NOT part of libshmstats'
// public API: an internal library (shmstats_common) of this repository.
//
//   tool_calls_total                       every series of one family
//   tool_calls_*                           name glob (* and ?)
//   tool_calls_total{tool="file_read"}     label matchers: =  !=  =~  !~
//   {status=~"err.*"}, {tool=~"(?i)read"}   regexes in RE2 syntax, fully anchored, as in PromQL

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "shmstats/snapshot.h"

namespace re2 {
class RE2;
}

namespace shmstats::common {

struct LabelMatcher {
  enum class Op { kEq, kNe, kRe, kNre };
  std::string name;
  Op op = Op::kEq;
  std::string value;
  std::shared_ptr<const re2::RE2> re;  // for kRe/kNre: ^(?:value)$, immutable once built
};

// A parsed selector. Thread-safe to use from many threads once built.
class Selector {
 public:
  // Throws shmstats::Error(kInvalidArgument) with a message that points at the
  // offending character, e.g. "malformed selector 'a{b=}': expected a quoted value at 5".
  static Selector Parse(std::string_view text);
  // Matches everything.
  Selector() = default;

  bool Matches(const MetricSnapshot& m) const;
  // True when the selector names exactly one family without globs or matchers.
  bool IsPlainName() const;
  const std::string& name_glob() const { return name_glob_; }
  const std::vector<LabelMatcher>& matchers() const { return matchers_; }

 private:
  std::string name_glob_;  // empty: any name
  std::vector<LabelMatcher> matchers_;
};

}  // namespace shmstats::common
