// SPDX-License-Identifier: Apache-2.0
#include "tools/progress.h"

#include <fmt/format.h>

#include <algorithm>

#include "tools/human.h"

namespace shmstats::statsctl {

ProgressBuf::ProgressBuf(std::streambuf* out, std::string what)
    : out_(out), what_(std::move(what)) {}

ProgressBuf::~ProgressBuf() = default;

ProgressBuf::int_type ProgressBuf::overflow(int_type c) {
  if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
  char ch = traits_type::to_char_type(c);
  Count(&ch, 1);
  return out_->sputc(ch);
}

std::streamsize ProgressBuf::xsputn(const char* s, std::streamsize n) {
  Count(s, n);
  return out_->sputn(s, n);
}

int ProgressBuf::sync() { return out_->pubsync(); }

void ProgressBuf::Count(const char* s, std::streamsize n) {
  lines_ += static_cast<uint64_t>(std::count(s, s + n, '\n'));
  bytes_ += static_cast<uint64_t>(n);
  if (!line_.Due()) return;
  line_.Show(fmt::format("statsctl: {} {} lines, {}", what_, lines_,
                         HumanNumber(static_cast<double>(bytes_), "bytes", NumberStyle{})));
}

}  // namespace shmstats::statsctl
