// SPDX-License-Identifier: Apache-2.0
#include "daemon/feed/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "daemon/byte_codec.h"
#include "daemon/state_files.h"
#include "shmstats/error.h"

namespace shmstats::daemon {
namespace {

constexpr std::string_view kMagic = "SHMSPL1\n";

// "000000000000002a.tick" -> 42; nullopt for any other name.
std::optional<uint64_t> SeqOf(std::string_view name) {
  if (name.size() != 21 || !name.ends_with(".tick")) return std::nullopt;
  uint64_t seq = 0;
  for (char c : name.substr(0, 16)) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    seq = seq << 4 | static_cast<uint64_t>(d);
  }
  return seq;
}

}  // namespace

std::string EncodeTick(const history::TickRecord& tick) {
  ByteWriter w;
  w.Int(tick.unix_ms);
  w.Int(tick.interval_ms);
  w.Int(static_cast<uint32_t>(tick.samples.size()));
  for (const auto& m : tick.samples) {
    w.Int(static_cast<uint8_t>(m.type));
    w.Str(m.name);
    w.Int(static_cast<uint32_t>(m.labels.size()));
    for (const auto& [k, v] : m.labels) {
      w.Str(k);
      w.Str(v);
    }
    w.Str(m.help);
    w.Str(m.unit);
    switch (m.type) {
      case MetricType::kCounter:
        w.Int(m.counter);
        break;
      case MetricType::kGauge:
        w.Double(m.gauge);
        break;
      case MetricType::kHistogram:
        w.Int(LayoutWord(m.histogram));
        w.Int(static_cast<uint32_t>(m.histogram.bounds.size()));
        for (double b : m.histogram.bounds) w.Double(b);
        w.Int(static_cast<uint32_t>(m.histogram.counts.size()));
        for (uint64_t c : m.histogram.counts) w.Int(c);
        w.Double(m.histogram.sum);
        break;
    }
  }
  return Frame(kMagic, w.out);
}

std::optional<history::TickRecord> DecodeTick(std::string_view frame) {
  const std::optional<std::string_view> payload = Unframe(kMagic, frame);
  if (!payload) return std::nullopt;
  ByteReader r(*payload);
  history::TickRecord tick;
  tick.unix_ms = r.Int<int64_t>();
  tick.interval_ms = r.Int<int64_t>();
  uint32_t n = r.Count(14);  // type, name, labels, help, unit: at least 14 bytes
  tick.samples.reserve(n);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    MetricSnapshot m;
    auto type = r.Int<uint8_t>();
    if (type < 1 || type > 3) return std::nullopt;
    m.type = static_cast<MetricType>(type);
    m.name = r.Str();
    for (uint32_t l = r.Count(8); l > 0 && r.ok(); --l) {
      std::string k = r.Str();
      m.labels.emplace_back(std::move(k), r.Str());
    }
    m.help = r.Str();
    m.unit = r.Str();
    switch (m.type) {
      case MetricType::kCounter:
        m.counter = r.Int<uint64_t>();
        break;
      case MetricType::kGauge:
        m.gauge = r.Double();
        break;
      case MetricType::kHistogram: {
        const auto layout_word = r.Int<int32_t>();
        for (uint32_t b = r.Count(8); b > 0 && r.ok(); --b)
          m.histogram.bounds.push_back(r.Double());
        for (uint32_t c = r.Count(8); c > 0 && r.ok(); --c) {
          m.histogram.counts.push_back(r.Int<uint64_t>());
          m.histogram.count += m.histogram.counts.back();
        }
        m.histogram.sum = r.Double();
        ApplyLayoutWord(m.histogram, layout_word);
        break;
      }
    }
    tick.samples.push_back(std::move(m));
  }
  if (!r.done()) return std::nullopt;
  return tick;
}

TickSpool::TickSpool(const std::string& dir, SpoolLimits limits) : dir_(dir), limits_(limits) {
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    throw Error(
        errno == EACCES ? Errc::kPermission : Errc::kSystem,
        fmt::format("cannot create the spool directory {}: {}", dir_, std::strerror(errno)));
  }
  struct stat st {};
  if (::lstat(dir_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw Error(Errc::kPermission,
                fmt::format("the spool {} is not a directory (a symlink?): remove it", dir_));
  }
  CheckStateDir(dir_);
  lock_ = std::make_unique<LockFile>(dir_ + "/lock");
  DIR* d = ::opendir(dir_.c_str());
  if (!d) {
    throw Error(Errc::kSystem,
                fmt::format("cannot read the spool {}: {}", dir_, std::strerror(errno)));
  }
  while (dirent* e = ::readdir(d)) {
    auto seq = SeqOf(e->d_name);
    struct stat fst {};
    if (!seq || ::fstatat(::dirfd(d), e->d_name, &fst, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISREG(fst.st_mode)) continue;  // never followed; not ours
    files_[*seq] = static_cast<uint64_t>(fst.st_size);
    bytes_ += static_cast<uint64_t>(fst.st_size);
  }
  ::closedir(d);
  next_seq_ = files_.empty() ? kFirstSeq : files_.rbegin()->first + 1;
}

std::string TickSpool::Path(uint64_t seq) const {
  return fmt::format("{}/{:016x}.tick", dir_, seq);
}

void TickSpool::Remove(std::map<uint64_t, uint64_t>::iterator it) {
  ::unlink(Path(it->first).c_str());
  bytes_ -= it->second;
  files_.erase(it);
}

void TickSpool::WriteFile(uint64_t seq, const history::TickRecord& tick) {
  std::string data = EncodeTick(tick);
  std::string path = Path(seq);
  int fd = CreateExclusive(path, O_WRONLY, 0600);
  size_t done = 0;
  int err = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : ENOSPC;
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (err == 0 && ::fdatasync(fd) != 0) err = errno;
  ::close(fd);
  if (err != 0) {
    ::unlink(path.c_str());
    throw Error(err == EACCES ? Errc::kPermission : Errc::kSystem,
                fmt::format("cannot write the spooled tick {}: {}", path, std::strerror(err)));
  }
  files_[seq] = data.size();
  bytes_ += data.size();
}

void TickSpool::Append(const history::TickRecord& tick) {
  if (files_.empty()) next_seq_ = std::max(next_seq_, kFirstSeq);
  WriteFile(next_seq_, tick);
  ++next_seq_;
  while (files_.size() > 1 && (files_.size() > limits_.max_ticks || bytes_ > limits_.max_bytes)) {
    Remove(files_.begin());
    ++dropped_full_;
  }
}

void TickSpool::Prepend(const history::TickRecord& tick) {
  // A spool written before numbers started at 2^32 may hold 0: then behind it.
  if (files_.empty() || files_.begin()->first == 0) return Append(tick);
  WriteFile(files_.begin()->first - 1, tick);
}

std::vector<std::pair<uint64_t, history::TickRecord>> TickSpool::Peek(size_t n) {
  std::vector<std::pair<uint64_t, history::TickRecord>> out;
  for (auto it = files_.begin(); it != files_.end() && out.size() < n;) {
    auto tick = DecodeTick(ReadFileNoFollow(Path(it->first)));
    if (tick) {
      out.emplace_back(it->first, std::move(*tick));
      ++it;
    } else {
      auto bad = it++;
      Remove(bad);  // torn by a crash while it was written, or damaged
      ++dropped_corrupt_;
    }
  }
  return out;
}

void TickSpool::Remove(uint64_t seq) {
  auto it = files_.find(seq);
  if (it != files_.end()) Remove(it);
}

std::optional<history::TickRecord> TickSpool::Front() {
  while (!files_.empty()) {
    auto it = files_.begin();
    auto tick = DecodeTick(ReadFileNoFollow(Path(it->first)));
    if (tick) return tick;
    Remove(it);  // torn by a crash while it was written, or damaged
    ++dropped_corrupt_;
  }
  return std::nullopt;
}

void TickSpool::PopFront() {
  if (!files_.empty()) Remove(files_.begin());
}

}  // namespace shmstats::daemon
