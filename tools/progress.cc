#include "progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "human.h"

namespace shmstats::statsctl {

ProgressBuf::ProgressBuf(std::streambuf* out, std::string what)
    : out_(out),
      what_(std::move(what)),
      tty_(isatty(STDERR_FILENO) != 0),
      next_(std::chrono::steady_clock::now() + std::chrono::milliseconds(200)) {}

ProgressBuf::~ProgressBuf() {
  if (shown_) std::fputs("\r\033[K", stderr);
}

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
  if (tty_) Show(false);
}

void ProgressBuf::Show(bool force) {
  auto now = std::chrono::steady_clock::now();
  if (!force && now < next_) return;
  next_ = now + std::chrono::milliseconds(200);
  std::fprintf(stderr, "\r\033[Kstatsctl: %s %llu lines, %s", what_.c_str(),
               static_cast<unsigned long long>(lines_),
               HumanNumber(static_cast<double>(bytes_), "bytes", NumberStyle{}).c_str());
  std::fflush(stderr);
  shown_ = true;
}

}  // namespace shmstats::statsctl
