// SPDX-License-Identifier: Apache-2.0
// Selector parsing and matching. Grammar (a subset of PromQL's instant selectors,
// plus * and ? globs in the name):
//
//   selector := name_glob [ '{' [ matcher { ',' matcher } [ ',' ] ] '}' ]
//             | '{' ... '}'
//   matcher  := label_name ( '=' | '!=' | '=~' | '!~' ) quoted
//   quoted   := '"' chars '"' | '\'' chars '\''   (escapes \\ \" \' \n \t)
//
// A label that a metric does not have matches as the empty string, as in PromQL.
// The pseudo-label __name__ matches the metric name.

#include "selector.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>

#include "exposition.h"
#include "shmstats/error.h"

namespace shmstats::common {
namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == ':';
}

bool IsLabelChar(char c) { return IsNameChar(c) && c != ':'; }

// Glob match with * (any run) and ? (one character); iterative with one backtrack
// point, so it is linear in practice and never recursive.
bool GlobMatch(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  [[noreturn]] void Fail(const std::string& what) const {
    throw Error(Errc::kInvalidArgument,
                fmt::format("malformed selector '{}': {} at column {}; write NAME, NAME_GLOB or "
                            "NAME{{label=\"value\",...}} with =, !=, =~ or !~",
                            text_, what, pos_ + 1));
  }

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  void Skip() { ++pos_; }
  void SkipSpace() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t')) ++pos_;
  }

  std::string NameGlob() {
    size_t start = pos_;
    while (!AtEnd() && (IsNameChar(Peek()) || Peek() == '*' || Peek() == '?')) ++pos_;
    std::string glob(text_.substr(start, pos_ - start));
    if (!glob.empty() && glob[0] >= '0' && glob[0] <= '9') {
      pos_ = start;
      Fail("a metric name cannot start with a digit");
    }
    return glob;
  }

  std::string LabelName() {
    size_t start = pos_;
    while (!AtEnd() && IsLabelChar(Peek())) ++pos_;
    if (pos_ == start) Fail("expected a label name");
    std::string name(text_.substr(start, pos_ - start));
    if (name[0] >= '0' && name[0] <= '9') {
      pos_ = start;
      Fail("a label name cannot start with a digit");
    }
    return name;
  }

  LabelMatcher::Op Op() {
    if (text_.substr(pos_, 2) == "!=") return pos_ += 2, LabelMatcher::Op::kNe;
    if (text_.substr(pos_, 2) == "=~") return pos_ += 2, LabelMatcher::Op::kRe;
    if (text_.substr(pos_, 2) == "!~") return pos_ += 2, LabelMatcher::Op::kNre;
    if (Peek() == '=') return ++pos_, LabelMatcher::Op::kEq;
    Fail("expected =, !=, =~ or !~");
  }

  std::string Quoted() {
    char quote = Peek();
    if (quote != '"' && quote != '\'') Fail("expected a quoted value");
    ++pos_;
    std::string out;
    while (!AtEnd() && Peek() != quote) {
      char c = text_[pos_++];
      if (c == '\\') {
        if (AtEnd()) break;
        char e = text_[pos_++];
        switch (e) {
          case 'n':
            out.push_back('\n');
            break;
          case 't':
            out.push_back('\t');
            break;
          case '\\':
          case '"':
          case '\'':
            out.push_back(e);
            break;
          default:
            --pos_;
            Fail(fmt::format("unknown escape '\\{}'", e));
        }
      } else {
        out.push_back(c);
      }
    }
    if (AtEnd()) Fail("unterminated quoted value");
    ++pos_;
    return out;
  }

  LabelMatcher Matcher() {
    LabelMatcher m;
    m.name = LabelName();
    SkipSpace();
    m.op = Op();
    SkipSpace();
    size_t value_pos = pos_;
    m.value = Quoted();
    if (m.op == LabelMatcher::Op::kRe || m.op == LabelMatcher::Op::kNre) {
      // PromQL anchors the whole value: ^(?:re)$. RE2 runs in linear time, so a
      // selector from an untrusted page cannot stall a reader.
      RE2::Options options;
      options.set_log_errors(false);
      auto re = std::make_shared<const RE2>("^(?:" + m.value + ")$", options);
      if (!re->ok()) {
        pos_ = value_pos;
        Fail(fmt::format("invalid regular expression \"{}\" ({}; RE2 syntax as in PromQL)", m.value,
                         re->error()));
      }
      m.re = std::move(re);
    }
    return m;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

std::string_view LabelValue(const MetricSnapshot& m, const std::string& name) {
  if (name == "__name__") return m.name;
  for (const auto& [k, v] : m.labels)
    if (k == name) return v;
  return {};
}

bool MatcherMatches(const LabelMatcher& lm, std::string_view value) {
  switch (lm.op) {
    case LabelMatcher::Op::kEq:
      return value == lm.value;
    case LabelMatcher::Op::kNe:
      return value != lm.value;
    case LabelMatcher::Op::kRe:
      return RE2::FullMatch(value, *lm.re);
    case LabelMatcher::Op::kNre:
      return !RE2::FullMatch(value, *lm.re);
  }
  return false;
}

}  // namespace

Selector Selector::Parse(std::string_view text) {
  Parser p(text);
  Selector s;
  if (text.empty()) p.Fail("empty selector");
  s.name_glob_ = p.NameGlob();
  p.SkipSpace();
  if (!p.AtEnd()) {
    if (p.Peek() != '{') p.Fail(fmt::format("unexpected '{}'", p.Peek()));
    p.Skip();
    p.SkipSpace();
    while (p.Peek() != '}') {
      if (p.AtEnd()) p.Fail("expected '}'");
      s.matchers_.push_back(p.Matcher());
      p.SkipSpace();
      if (p.Peek() == ',') {
        p.Skip();
        p.SkipSpace();
      } else if (p.Peek() != '}') {
        p.Fail("expected ',' or '}'");
      }
    }
    p.Skip();
    p.SkipSpace();
    if (!p.AtEnd()) p.Fail(fmt::format("unexpected '{}' after '}}'", p.Peek()));
  }
  for (const auto& m : s.matchers_) {
    if (m.name == "__name__") continue;
    if (m.name.substr(0, 2) == "__") p.Fail(fmt::format("label '{}' is reserved", m.name));
  }
  if (s.name_glob_.empty() && s.matchers_.empty()) p.Fail("select at least a name or one label");
  return s;
}

bool Selector::Matches(const MetricSnapshot& m) const {
  // By the registered name or the one outputs show (counter `a` is shown as `a_total`).
  if (!name_glob_.empty() && !GlobMatch(name_glob_, m.name) &&
      !(m.type == MetricType::kCounter && GlobMatch(name_glob_, SeriesName(m))))
    return false;
  return std::all_of(matchers_.begin(), matchers_.end(), [&](const LabelMatcher& lm) {
    return MatcherMatches(lm, LabelValue(m, lm.name));
  });
}

bool Selector::IsPlainName() const {
  return !name_glob_.empty() && matchers_.empty() &&
         name_glob_.find_first_of("*?") == std::string::npos;
}

}  // namespace shmstats::common
