#include "stats_json.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/exposition.h"
#include "history_schema.h"
#include "history_time.h"
#include "shmstats/error.h"

namespace shmstats::daemon {
namespace {

[[noreturn]] void Fail(const std::string& what, const std::string& path) {
  throw Error(Errc::kSystem, fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

}  // namespace

std::string StatsJson(const TickResult& tick, const std::string& segment) {
  nlohmann::json counters = nlohmann::json::object(), gauges = nlohmann::json::object(),
                 histograms = nlohmann::json::object();
  for (const SeriesStat& st : tick.stats) {
    const MetricSnapshot& m = tick.snapshot.metrics[st.index];
    nlohmann::json j = {{"name", m.name}, {"labels", common::LabelsJson(m.labels)}};
    std::string id = history::SeriesText(m.name, m.labels);
    switch (m.type) {
      case MetricType::kCounter:
        j["value"] = m.counter;
        j["delta"] = st.has_delta ? nlohmann::json(st.delta) : nlohmann::json();
        j["rate"] = st.has_delta ? nlohmann::json(st.rate) : nlohmann::json();
        counters[id] = std::move(j);
        break;
      case MetricType::kGauge:
        j["value"] = nlohmann::json(m.gauge);
        gauges[id] = std::move(j);
        break;
      case MetricType::kHistogram: {
        const HistogramValue& h = st.interval;
        bool has = st.has_delta;
        j["count"] = has ? nlohmann::json(h.count) : nlohmann::json();
        j["sum"] = has ? nlohmann::json(h.sum) : nlohmann::json();
        j["mean"] = has && h.count ? nlohmann::json(h.sum / static_cast<double>(h.count))
                                   : nlohmann::json();
        j["p50"] = has ? nlohmann::json(Quantile(h, 0.5)) : nlohmann::json();
        j["p90"] = has ? nlohmann::json(Quantile(h, 0.9)) : nlohmann::json();
        j["p99"] = has ? nlohmann::json(Quantile(h, 0.99)) : nlohmann::json();
        j["total_count"] = m.histogram.count;
        j["total_sum"] = nlohmann::json(m.histogram.sum);
        histograms[id] = std::move(j);
        break;
      }
    }
  }
  nlohmann::json doc = {
      {"version", 1},
      {"timestamp", history::FormatRfc3339(tick.unix_ms)},
      {"interval_seconds", static_cast<double>(tick.interval_ms) / 1000.0},
      {"segment", segment},
      {"counters", std::move(counters)},
      {"gauges", std::move(gauges)},
      {"histograms", std::move(histograms)},
  };
  return doc.dump() + "\n";
}

void WriteFileAtomically(const std::string& path, const std::string& content) {
  std::string tmp = fmt::format("{}.tmp.{}", path, getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) Fail("cannot create", tmp);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int saved = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      errno = saved;
      Fail("cannot write", tmp);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int saved = errno;
    ::unlink(tmp.c_str());
    errno = saved;
    Fail("cannot sync", tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(tmp.c_str());
    errno = saved;
    Fail("cannot rename onto", path);
  }
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/') + 1);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace shmstats::daemon
