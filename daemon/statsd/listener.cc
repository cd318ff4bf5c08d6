// SPDX-License-Identifier: Apache-2.0
#include "daemon/statsd/listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>
#include <thread>
#include <unordered_map>

#include "daemon/log.h"
#include "shmstats/error.h"

namespace shmstats::daemon {
namespace {

using statsd::Result;
using statsd::Type;

constexpr size_t kBatch = 64;                    // datagrams per recvmmsg
constexpr size_t kDatagramBytes = 65536;         // the largest UDP payload fits
constexpr long kMaxObservationsPerValue = 1000;  // @rate below 0.001 counts as 0.001
constexpr int kReceiveBuffer = 8 << 20;  // asked for; capped at rmem_max without CAP_NET_ADMIN

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

[[noreturn]] void Fail(const std::string& what) {
  throw Error(Errc::kSystem, fmt::format("statsd: {}: {}", what, std::strerror(errno)));
}

// Binds a UDP socket; `bound_port` is set to the port it got.
int BindUdp(const std::string& address, int& bound_port) {
  auto colon = address.rfind(':');
  std::string host = colon == std::string::npos ? "" : address.substr(0, colon);
  std::string port = colon == std::string::npos ? "" : address.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || port.empty() || port.find_first_not_of("0123456789") != std::string::npos) {
    throw Error(Errc::kInvalidArgument,
                fmt::format("invalid --statsd '{}': use HOST:PORT, e.g. 127.0.0.1:8125", address));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    throw Error(Errc::kInvalidArgument,
                fmt::format("invalid --statsd '{}': {}", address, gai_strerror(rc)));
  }
  int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
    int saved = errno;
    freeaddrinfo(res);
    if (fd >= 0) close(fd);
    errno = saved;
    Fail(fmt::format("cannot listen on udp {}", address));
  }
  freeaddrinfo(res);
  sockaddr_storage local{};
  socklen_t len = sizeof(local);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
    bound_port =
        ntohs(local.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6&>(local).sin6_port
                                          : reinterpret_cast<const sockaddr_in&>(local).sin_port);
  }
  return fd;
}

int BindUnix(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) {
    throw Error(Errc::kInvalidArgument,
                fmt::format("--statsd-socket path is longer than {} bytes: {}",
                            sizeof(addr.sun_path) - 1, path));
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) Fail("socket");
  unlink(path.c_str());  // a stale socket of a previous run
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    Fail(fmt::format("cannot bind unix socket {}", path));
  }
  chmod(path.c_str(), 0660);
  return fd;
}

}  // namespace

// One socket's thread's own state: its segment handle (opened read-write, created
// if missing, re-opened when replaced) and its series cache.
class StatsdListener::Receiver {
 public:
  Receiver(StatsdListener& owner, size_t cache_bytes) : owner_(owner), cache_budget_(cache_bytes) {
    key_.reserve(1024);
  }
  // Opens the segment if needed, at most once a second; true if it is open.
  bool Attach();
  void Ingest(std::string_view datagram);

 private:
  struct Series {
    Counter counter;
    Gauge gauge;
    Histogram histogram;
    double carry = 0;  // a counter's fraction not yet recorded
    Result refusal = Result::kOk;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  Result Record(const statsd::Line& line);
  Series& Find(const statsd::Line& line);
  Series Register(const statsd::Line& line);

  StatsdListener& owner_;
  std::optional<Segment> segment_;
  int64_t last_attach_ms_ = INT64_MIN / 2;
  std::string key_;  // reused: no allocation once it has grown
  std::unordered_map<std::string, Series, Hash, std::equal_to<>> series_;
  uint64_t deletions_ = 0;     // the segment's deletions when the cache was last valid
  uint64_t dropped_mark_ = 0;  // the last Segment::DroppedDeletedBefore mark
  const size_t cache_budget_;  // bytes the cache may hold (its keys and entries)
  size_t cache_bytes_ = 0;
  uint64_t refused_series_[statsd::kResultCount] = {};  // for logging
};

StatsdListener::StatsdListener(std::string segment, const std::string& udp,
                               const std::string& unix_path, size_t cache_bytes)
    : segment_name_(std::move(segment)) {
  try {
    if (!udp.empty()) fds_.push_back(BindUdp(udp, udp_port_));
    if (!unix_path.empty()) {
      fds_.push_back(BindUnix(unix_path));
      unix_path_ = unix_path;
    }
  } catch (...) {
    for (int fd : fds_) close(fd);
    throw;
  }
  for (int fd : fds_) {
    // SO_RCVBUFFORCE passes net.core.rmem_max when the daemon may (CAP_NET_ADMIN).
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &kReceiveBuffer, sizeof(int)) != 0) {
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kReceiveBuffer, sizeof(int));
    }
  }
  const size_t receivers = std::max<size_t>(fds_.size(), 1);
  for (size_t i = 0; i < receivers; ++i) {
    receivers_.push_back(std::make_unique<Receiver>(*this, cache_bytes / receivers));
  }
  receivers_[0]->Attach();
}

StatsdListener::~StatsdListener() {
  for (int fd : fds_) close(fd);
  if (!unix_path_.empty()) unlink(unix_path_.c_str());
}

void StatsdListener::Stop() {
  stopping_.store(true);
  // Wakes a thread blocked in recvmmsg (it returns 0), for UDP and Unix sockets alike.
  for (int fd : fds_) shutdown(fd, SHUT_RD);
}

bool StatsdListener::Receiver::Attach() {
  int64_t now = NowMs();
  if (now - last_attach_ms_ < 1000) return segment_.has_value();
  last_attach_ms_ = now;
  if (segment_ && !segment_->Replaced()) return true;
  if (segment_) {
    Log("warning", fmt::format("statsd: segment {} was removed or re-created; re-opening",
                               owner_.segment_name_));
    segment_.reset();
    series_.clear();
    cache_bytes_ = 0;
  }
  try {
    segment_.emplace(Segment::OpenOrCreate(owner_.segment_name_));
    return true;
  } catch (const Error& e) {
    Log("error", fmt::format("statsd: {} (lines are dropped; retrying every second)", e.what()));
    return false;
  }
}

void StatsdListener::Run() {
  std::vector<std::thread> more;
  for (size_t i = 1; i < fds_.size(); ++i) more.emplace_back([this, i] { Receive(i); });
  if (!fds_.empty()) Receive(0);
  for (auto& t : more) t.join();
}

void StatsdListener::Receive(size_t socket) {
  pthread_setname_np(pthread_self(), "statsd");  // for top -H and bench/statsd_load
  Receiver& r = *receivers_[socket];
  std::vector<char> buffers(kBatch * kDatagramBytes);
  mmsghdr msgs[kBatch];
  iovec iovs[kBatch];
  while (!stopping_.load(std::memory_order_relaxed)) {
    for (size_t i = 0; i < kBatch; ++i) {
      iovs[i] = {buffers.data() + i * kDatagramBytes, kDatagramBytes};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    // Blocks for the first datagram, then takes what has arrived (up to kBatch).
    int n = recvmmsg(fds_[socket], msgs, kBatch, MSG_WAITFORONE, nullptr);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      Log("error", fmt::format("statsd: recvmmsg: {}; statsd ingestion on this socket stopped",
                               std::strerror(errno)));
      return;
    }
    datagrams_.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
    bool attached = n > 0 && r.Attach();
    for (int i = 0; i < n; ++i) {
      std::string_view datagram(static_cast<const char*>(iovs[i].iov_base),
                                std::min<size_t>(msgs[i].msg_len, kDatagramBytes));
      if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
        Count(Result::kTruncated);
        continue;
      }
      if (!attached) {
        uint64_t lines = 0;
        statsd::ForEachLine(datagram, [&](std::string_view) { ++lines; });
        Count(Result::kNoSegment, lines);
        continue;
      }
      r.Ingest(datagram);
    }
  }
}

void StatsdListener::Ingest(std::string_view datagram) { receivers_[0]->Ingest(datagram); }

void StatsdListener::Receiver::Ingest(std::string_view datagram) {
  if (segment_) {
    // Read before the deletions are: every series deleted before this mark was
    // counted by then (libshm stamps a deletion after counting it).
    const uint64_t mark = Segment::DeletionMark();
    // Series were deleted (idle expiry, statsctl delete): handles of the cache may be
    // theirs. Registering again brings back those that are still sent.
    if (segment_->Deletions() != deletions_) {
      deletions_ = segment_->Deletions();
      series_.clear();
      cache_bytes_ = 0;
    }
    // This thread alone uses the cache, and holds no handle between datagrams: none
    // is to a series deleted before the mark, whose room may then go to new series.
    if (mark != dropped_mark_) {
      segment_->DroppedDeletedBefore(mark);
      dropped_mark_ = mark;
    }
  }
  statsd::ForEachLine(datagram, [&](std::string_view text) {
    statsd::Line line;
    Result r = statsd::ParseLine(text, line);
    if (r == Result::kOk) r = segment_ ? Record(line) : Result::kNoSegment;
    owner_.Count(r);
  });
}

Result StatsdListener::Receiver::Record(const statsd::Line& line) {
  Series& s = Find(line);
  if (s.refusal != Result::kOk) return s.refusal;
  std::string_view values = line.values;
  while (true) {
    size_t colon = values.find(':');
    double v = 0;
    bool relative = false;
    statsd::ParseValue(values.substr(0, colon), v, relative);  // checked by ParseLine
    switch (line.type) {
      case Type::kCounter: {
        s.carry += v / line.sample_rate;
        double whole = std::floor(s.carry);
        if (!(whole < 0x1p64)) {
          s.carry = 0;
          return Result::kBadValue;
        }
        s.counter.Inc(static_cast<uint64_t>(whole));
        s.carry -= whole;
        break;
      }
      case Type::kGauge:
        relative ? s.gauge.Add(v) : s.gauge.Set(v);
        break;
      case Type::kTimer:
      case Type::kHistogram:
      case Type::kDistribution: {
        if (line.type == Type::kTimer) v /= 1000;
        long times = std::min(std::lround(1 / line.sample_rate), kMaxObservationsPerValue);
        for (long i = 0; i < times; ++i) s.histogram.Observe(v);
        break;
      }
    }
    if (colon == std::string_view::npos) return Result::kOk;
    values.remove_prefix(colon + 1);
  }
}

StatsdListener::Receiver::Series& StatsdListener::Receiver::Find(const statsd::Line& line) {
  key_.assign(line.name);
  key_ += '|';
  key_ += static_cast<char>('0' + static_cast<int>(line.type));
  key_ += '|';
  key_.append(line.tags);
  if (auto it = series_.find(std::string_view(key_)); it != series_.end()) return it->second;
  // An entry's cost: its node (key and series) and bucket, and the key's bytes on
  // the heap. Past the budget the cache starts over: known series cost one
  // registration lookup again, and garbage names cannot hold more than the budget.
  size_t cost = sizeof(decltype(series_)::value_type) + 4 * sizeof(void*) + key_.size() + 1;
  if (cache_bytes_ + cost > cache_budget_) {
    series_.clear();
    cache_bytes_ = 0;
  }
  cache_bytes_ += cost;
  return series_.emplace(key_, Register(line)).first->second;
}

StatsdListener::Receiver::Series StatsdListener::Receiver::Register(const statsd::Line& line) {
  Series s;
  MetricSpec spec;
  spec.name = statsd::EscapeName(line.name);
  spec.ttl_seconds = owner_.ttl_seconds_;
  spec.family_limit = owner_.family_limit_;
  statsd::ForEachTag(line.tags, [&](std::string_view k, std::string_view v) {
    spec.labels.emplace_back(statsd::EscapeName(k), std::string(v));
  });
  try {
    switch (line.type) {
      case Type::kCounter:
        spec.help = "statsd counter";
        s.counter = segment_->RegisterCounter(spec);
        break;
      case Type::kGauge:
        spec.help = "statsd gauge";
        s.gauge = segment_->RegisterGauge(spec);
        break;
      case Type::kTimer:
        spec.help = "statsd timer";
        spec.unit = "seconds";
        s.histogram = segment_->RegisterHistogram(spec, kStatsdBuckets);
        break;
      case Type::kHistogram:
      case Type::kDistribution:
        spec.help = "statsd histogram";
        s.histogram = segment_->RegisterHistogram(spec, kStatsdBuckets);
        break;
    }
  } catch (const Error& e) {
    s.refusal = e.code() == Errc::kTypeMismatch ? Result::kTypeConflict
                : e.code() == Errc::kFull       ? Result::kSegmentFull
                                                : Result::kInvalidName;
    // Logged for the 1st, 2nd, 4th, 8th... series refused for a reason: a flood of
    // new names into a full segment cannot flood the journal.
    uint64_t seen = refused_series_[static_cast<int>(s.refusal)]++;
    if ((seen & (seen + 1)) == 0) {
      // Cut: the message quotes the name, which a client may make 64 KiB long.
      constexpr size_t kMaxLogged = 512;
      std::string_view what = e.what();
      Log("warning",
          fmt::format("statsd: {}{} (refused series #{} for this reason)",
                      what.substr(0, kMaxLogged), what.size() > kMaxLogged ? "..." : "", seen + 1));
    }
  }
  return s;
}

void StatsdListener::Collect(std::vector<MetricSnapshot>& out) const {
  for (int i = 0; i < statsd::kResultCount; ++i) {
    MetricSnapshot m;
    m.name = "shmstatsd_statsd_lines_total";
    m.type = MetricType::kCounter;
    m.help = "statsd lines received, by result (ok: recorded; any other: dropped)";
    m.labels = {{"result", std::string(statsd::ResultName(static_cast<Result>(i)))}};
    m.counter = counts_[i].load(std::memory_order_relaxed);
    out.push_back(std::move(m));
  }
  MetricSnapshot d;
  d.name = "shmstatsd_statsd_datagrams_total";
  d.type = MetricType::kCounter;
  d.help = "statsd datagrams received";
  d.counter = datagrams_.load(std::memory_order_relaxed);
  out.push_back(std::move(d));
}

}  // namespace shmstats::daemon
