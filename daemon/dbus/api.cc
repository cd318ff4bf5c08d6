// SPDX-License-Identifier: Apache-2.0
#include "daemon/dbus/api.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string_view>

#include "common/selector.h"
#include "daemon/log.h"
#include "daemon/mapped_read.h"
#include "daemon/status_line.h"
#include "history/query.h"
#include "history/store.h"
#include "history/time.h"
#include "shmstats/error.h"

namespace shmstats::daemon {
namespace {

constexpr const char* kName = "org.shmstats.Stats1";
constexpr const char* kPath = "/org/shmstats/Stats1";
constexpr const char* kMetrics = "a(sa{ss}sa{sv})";

// A failed sd-bus call on a message we build: the reply cannot be sent.
struct BusFailure {
  int r;
};

void Check(int r) {
  if (r < 0) throw BusFailure{r};
}

DbusApi& Api(void* userdata) { return *static_cast<DbusApi*>(userdata); }

int ReplyError(sd_bus_error* error, const char* name, const std::string& message) {
  return sd_bus_error_set(error, name, message.c_str());
}

const char* ErrorName(Errc code) {
  switch (code) {
    case Errc::kInvalidArgument:
      return SD_BUS_ERROR_INVALID_ARGS;
    case Errc::kNotFound:
      return "org.shmstats.Stats1.Error.NotFound";
    case Errc::kFull:
      return "org.shmstats.Stats1.Error.Full";
    case Errc::kTypeMismatch:
      return "org.shmstats.Stats1.Error.TypeMismatch";
    case Errc::kPermission:
      return SD_BUS_ERROR_ACCESS_DENIED;
    default:
      return "org.shmstats.Stats1.Error.Failed";
  }
}

// Runs a handler, turning exceptions into D-Bus errors with their message.
template <class F>
int Handle(sd_bus_error* error, F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    return ReplyError(error, ErrorName(e.code()), e.what());
  } catch (const history::StoreError& e) {
    return ReplyError(error, "org.shmstats.Stats1.Error.NotFound",
                      fmt::format("history unavailable: {}", e.what()));
  } catch (const BusFailure& f) {
    return f.r;
  } catch (const std::exception& e) {
    return ReplyError(error, "org.shmstats.Stats1.Error.Failed", e.what());
  }
}

MetricSpec ReadSpec(sd_bus_message* m) {
  const char* name = nullptr;
  Check(sd_bus_message_read(m, "s", &name));
  MetricSpec spec{name, {}, "", ""};
  Check(sd_bus_message_enter_container(m, 'a', "{ss}"));
  const char *key = nullptr, *value = nullptr;
  int r;
  while ((r = sd_bus_message_read(m, "{ss}", &key, &value)) > 0)
    spec.labels.emplace_back(key, value);
  Check(r);
  Check(sd_bus_message_exit_container(m));
  return spec;
}

void AppendEntry(sd_bus_message* m, const char* key, char type, const void* value) {
  const char sig[2] = {type, 0};
  Check(sd_bus_message_open_container(m, 'e', "sv"));
  Check(sd_bus_message_append_basic(m, 's', key));
  Check(sd_bus_message_open_container(m, 'v', sig));
  Check(sd_bus_message_append_basic(m, type, value));
  Check(sd_bus_message_close_container(m));
  Check(sd_bus_message_close_container(m));
}

template <class T>
void AppendArrayEntry(sd_bus_message* m, const char* key, char type, const std::vector<T>& v) {
  const char sig[3] = {'a', type, 0};
  Check(sd_bus_message_open_container(m, 'e', "sv"));
  Check(sd_bus_message_append_basic(m, 's', key));
  Check(sd_bus_message_open_container(m, 'v', sig));
  Check(sd_bus_message_append_array(m, type, v.data(), v.size() * sizeof(T)));
  Check(sd_bus_message_close_container(m));
  Check(sd_bus_message_close_container(m));
}

void AppendLabels(sd_bus_message* m, const Labels& labels) {
  Check(sd_bus_message_open_container(m, 'a', "{ss}"));
  for (const auto& [k, v] : labels) Check(sd_bus_message_append(m, "{ss}", k.c_str(), v.c_str()));
  Check(sd_bus_message_close_container(m));
}

void AppendMetrics(sd_bus_message* m, const std::vector<MetricSnapshot>& metrics) {
  Check(sd_bus_message_open_container(m, 'a', "(sa{ss}sa{sv})"));
  for (const auto& x : metrics) {
    Check(sd_bus_message_open_container(m, 'r', "sa{ss}sa{sv}"));
    Check(sd_bus_message_append_basic(m, 's', x.name.c_str()));
    AppendLabels(m, x.labels);
    Check(sd_bus_message_append_basic(m, 's', std::string(TypeName(x.type)).c_str()));
    Check(sd_bus_message_open_container(m, 'a', "{sv}"));
    if (x.type == MetricType::kCounter) {
      AppendEntry(m, "value", 't', &x.counter);
    } else if (x.type == MetricType::kGauge) {
      AppendEntry(m, "value", 'd', &x.gauge);
    } else {
      const HistogramValue& h = x.histogram;
      AppendEntry(m, "count", 't', &h.count);
      AppendEntry(m, "sum", 'd', &h.sum);
      for (auto [key, q] : {std::pair{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}}) {
        double v = Quantile(h, q);
        AppendEntry(m, key, 'd', &v);
      }
      AppendArrayEntry(m, "bounds", 'd', h.bounds);
      AppendArrayEntry(m, "counts", 't', h.counts);
    }
    Check(sd_bus_message_close_container(m));
    Check(sd_bus_message_close_container(m));
  }
  Check(sd_bus_message_close_container(m));
}

// The reply to a getter: the series `selector` matches, or NoMatch.
int ReplyMetrics(sd_bus_message* call, sd_bus_error* error, DbusApi& api,
                 const common::Selector& selector) {
  auto segment = api.collector().Attached();
  if (!segment) {
    return ReplyError(
        error, "org.shmstats.Stats1.Error.NotFound",
        fmt::format("segment {} is missing: no producer has created it yet", api.config().segment));
  }
  Snapshot snap;
  {
    auto pass = api.collector().RenderPass();  // a read of every series: one at a time
    try {
      ReadMapped(api.config().segment, [&] { snap = segment->Read(); });
    } catch (const Error& e) {  // shrunk or corrupt: as a tick treats it
      api.collector().SegmentFailed(e);
      throw;
    }
    std::erase_if(snap.metrics, [&](const MetricSnapshot& m) { return !selector.Matches(m); });
    snap.metrics.shrink_to_fit();
  }
  if (snap.metrics.empty()) {
    return ReplyError(error, "org.shmstats.Stats1.Error.NoMatch", "no metric matches the selector");
  }
  sd_bus_message* reply = nullptr;
  Check(sd_bus_message_new_method_return(call, &reply));
  try {
    AppendMetrics(reply, snap.metrics);
  } catch (...) {
    sd_bus_message_unref(reply);
    throw;
  }
  int r = sd_bus_send(nullptr, reply, nullptr);
  sd_bus_message_unref(reply);
  return r;
}

int Increment(sd_bus_message* m, void* userdata, sd_bus_error* error) {
  return Handle(error, [&] {
    MetricSpec spec = ReadSpec(m);
    uint64_t amount = 0;
    Check(sd_bus_message_read(m, "t", &amount));
    Api(userdata).Record([&](Segment& s) { s.RegisterCounter(spec).Inc(amount); });
    return sd_bus_reply_method_return(m, "");
  });
}

int SetGauge(sd_bus_message* m, void* userdata, sd_bus_error* error) {
  return Handle(error, [&] {
    MetricSpec spec = ReadSpec(m);
    double value = 0;
    Check(sd_bus_message_read(m, "d", &value));
    if (std::isnan(value)) throw Error(Errc::kInvalidArgument, "the value is NaN: give a number");
    Api(userdata).Record([&](Segment& s) { s.RegisterGauge(spec).Set(value); });
    return sd_bus_reply_method_return(m, "");
  });
}

int Observe(sd_bus_message* m, void* userdata, sd_bus_error* error) {
  return Handle(error, [&] {
    MetricSpec spec = ReadSpec(m);
    double value = 0;
    const void* bounds = nullptr;
    size_t size = 0;
    Check(sd_bus_message_read(m, "d", &value));
    Check(sd_bus_message_read_array(m, 'd', &bounds, &size));
    if (std::isnan(value)) throw Error(Errc::kInvalidArgument, "the value is NaN: give a number");
    const auto* b = static_cast<const double*>(bounds);
    ExplicitBuckets buckets{std::vector<double>(b, b + size / sizeof(double))};
    Api(userdata).Record([&](Segment& s) { s.RegisterHistogram(spec, buckets).Observe(value); });
    return sd_bus_reply_method_return(m, "");
  });
}

int GetMetrics(sd_bus_message* m, void* userdata, sd_bus_error* error) {
  return Handle(error, [&] {
    const char* selector = nullptr;
    Check(sd_bus_message_read(m, "s", &selector));
    return ReplyMetrics(m, error, Api(userdata), common::Selector::Parse(selector));
  });
}

int GetAllMetrics(sd_bus_message* m, void* userdata, sd_bus_error* error) {
  return Handle(error, [&] { return ReplyMetrics(m, error, Api(userdata), common::Selector()); });
}

// One point of /stats/history's JSON as a{sv}: integers as t (x) or x, numbers as d.
void AppendPoint(sd_bus_message* m, const nlohmann::json& point) {
  Check(sd_bus_message_open_container(m, 'a', "{sv}"));
  for (const auto& [key, v] : point.items()) {
    if (v.is_number_unsigned()) {
      uint64_t u = v.get<uint64_t>();
      AppendEntry(m, key.c_str(), 't', &u);
    } else if (v.is_number_integer()) {
      int64_t i = v.get<int64_t>();
      AppendEntry(m, key.c_str(), 'x', &i);
    } else if (v.is_number()) {
      double d = v.get<double>();
      AppendEntry(m, key.c_str(), 'd', &d);
    } else if (v.is_string()) {
      AppendEntry(m, key.c_str(), 's', v.get_ref<const std::string&>().c_str());
    }  // null (no value in the step) and nested objects are left out
  }
  Check(sd_bus_message_close_container(m));
}

// Replies to GetHistory call `m` with the series of `doc` (HistoryToJson's document),
// typed. On the bus thread.
int ReplyHistory(sd_bus_message* m, const nlohmann::json& doc) {
  try {
    sd_bus_message* reply = nullptr;
    Check(sd_bus_message_new_method_return(m, &reply));
    std::unique_ptr<sd_bus_message, decltype(&sd_bus_message_unref)> owner(reply,
                                                                           sd_bus_message_unref);
    Check(sd_bus_message_open_container(reply, 'a', "(sa{ss}saa{sv})"));
    for (const auto& s : doc["series"]) {
      Check(sd_bus_message_open_container(reply, 'r', "sa{ss}saa{sv}"));
      Check(
          sd_bus_message_append_basic(reply, 's', s["name"].get_ref<const std::string&>().c_str()));
      Labels labels;
      for (const auto& [k, v] : s["labels"].items()) labels.emplace_back(k, v.get<std::string>());
      AppendLabels(reply, labels);
      Check(
          sd_bus_message_append_basic(reply, 's', s["type"].get_ref<const std::string&>().c_str()));
      Check(sd_bus_message_open_container(reply, 'a', "a{sv}"));
      for (const auto& point : s["points"]) AppendPoint(reply, point);
      Check(sd_bus_message_close_container(reply));
      Check(sd_bus_message_close_container(reply));
    }
    Check(sd_bus_message_close_container(reply));
    return sd_bus_send(nullptr, reply, nullptr);
  } catch (const BusFailure& f) {
    return f.r;
  }
}

// Read on the bus thread, run on a query thread (DbusApi::QueueHistory): the bus
// goes on dispatching meanwhile.
int GetHistory(sd_bus_message* m, void* userdata, sd_bus_error* error) {
  return Handle(error, [&] {
    const char *selector = nullptr, *from = nullptr, *to = nullptr, *step = nullptr;
    Check(sd_bus_message_read(m, "ssss", &selector, &from, &to, &step));
    return Api(userdata).QueueHistory(m, HistoryParams{selector, from, to, step}, error);
  });
}

int Reset(sd_bus_message* m, void* userdata, sd_bus_error* error) {
  return Handle(error, [&] {
    const char* text = nullptr;
    Check(sd_bus_message_read(m, "s", &text));
    DbusApi& api = Api(userdata);
    if (!api.config().enable_reset) {
      return ReplyError(error, SD_BUS_ERROR_ACCESS_DENIED,
                        "reset is disabled: start shmstatsd with --enable-reset");
    }
    common::Selector selector = common::Selector::Parse(text);
    auto reset = api.Writable().Reset([&](const MetricSnapshot& x) { return selector.Matches(x); });
    if (reset.empty()) {
      return ReplyError(error, "org.shmstats.Stats1.Error.NoMatch",
                        "no metric matches the selector");
    }
    sd_bus_message* reply = nullptr;
    Check(sd_bus_message_new_method_return(m, &reply));
    std::unique_ptr<sd_bus_message, decltype(&sd_bus_message_unref)> owner(reply,
                                                                           sd_bus_message_unref);
    AppendMetrics(reply, reset);
    return sd_bus_send(nullptr, reply, nullptr);
  });
}

int SegmentProperty(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply,
                    void* userdata, sd_bus_error*) {
  return sd_bus_message_append(reply, "s", Api(userdata).config().segment.c_str());
}

int LastTickProperty(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply,
                     void* userdata, sd_bus_error*) {
  return sd_bus_message_append(reply, "t",
                               static_cast<uint64_t>(Api(userdata).collector().LastTickMs()));
}

int StatusProperty(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply,
                   void* userdata, sd_bus_error*) {
  DbusApi& api = Api(userdata);
  return sd_bus_message_append(reply, "s",
                               StatusLine(api.config().segment, api.collector()).c_str());
}

const sd_bus_vtable kVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD_WITH_NAMES("Increment", "sa{ss}t",
                             SD_BUS_PARAM(name) SD_BUS_PARAM(labels) SD_BUS_PARAM(amount), "", "",
                             Increment, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("SetGauge", "sa{ss}d",
                             SD_BUS_PARAM(name) SD_BUS_PARAM(labels) SD_BUS_PARAM(value), "", "",
                             SetGauge, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("Observe", "sa{ss}dad",
                             SD_BUS_PARAM(name) SD_BUS_PARAM(labels) SD_BUS_PARAM(value)
                                 SD_BUS_PARAM(bounds),
                             "", "", Observe, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("GetMetrics", "s", SD_BUS_PARAM(selector), kMetrics + 0,
                             SD_BUS_PARAM(metrics), GetMetrics, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("GetAllMetrics", "", "", "a(sa{ss}sa{sv})", SD_BUS_PARAM(metrics),
                             GetAllMetrics, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES(
        "GetHistory", "ssss",
        SD_BUS_PARAM(selector) SD_BUS_PARAM(from) SD_BUS_PARAM(to) SD_BUS_PARAM(step),
        "a(sa{ss}saa{sv})", SD_BUS_PARAM(series), GetHistory, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("Reset", "s", SD_BUS_PARAM(selector), "a(sa{ss}sa{sv})",
                             SD_BUS_PARAM(metrics), Reset, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_PROPERTY("Segment", "s", SegmentProperty, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("LastTick", "t", LastTickProperty, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Status", "s", StatusProperty, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_SIGNAL_WITH_NAMES("Tick", "t", SD_BUS_PARAM(unix_ms), 0),
    SD_BUS_VTABLE_END};

}  // namespace

// A method call kept for a later reply: a reference released on the bus thread (or
// once that thread has ended), never concurrently with it.
struct DbusApi::Call {
  explicit Call(sd_bus_message* m) : message(sd_bus_message_ref(m)) {}
  ~Call() { sd_bus_message_unref(message); }
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;
  sd_bus_message* message;
};

struct DbusApi::Answer {
  std::unique_ptr<Call> call;
  int status = 200;  // QueryHistory's: 200, 400 or 503
  std::string message;
  nlohmann::json doc;
};

DbusApi::DbusApi(const Config& config, Collector& collector)
    : config_(config),
      collector_(collector),
      wake_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      queries_(std::make_unique<WorkerPool>(kHistoryThreads, kHistoryQueue)) {}

DbusApi::~DbusApi() {
  Stop();
  answers_.clear();  // their calls are released before the bus is
  sd_bus_slot_unref(slot_);
  sd_bus_flush_close_unref(bus_);
  if (wake_ >= 0) close(wake_);
}

HistoryLimits DbusApi::history_limits() {
  HistoryLimits limits;  // /stats/history's range, series and budget...
  // ...and fewer points: a reply is one D-Bus message, which the bus limits in size
  // (dbus-daemon: 32 MiB on the system bus), and is built whole in memory.
  limits.max_points = 50'000;
  return limits;
}

int DbusApi::QueueHistory(sd_bus_message* m, HistoryParams params, sd_bus_error* error) {
  auto call = std::make_shared<std::unique_ptr<Call>>(std::make_unique<Call>(m));
  bool queued = queries_->TryPost([this, call, params = std::move(params)] {
    Answer answer;
    answer.call = std::move(*call);  // from here on only this thread holds it, then the bus's
    answer.status = QueryHistory(
        config_.history_db, history_limits(), [this] { return stop_.load(); }, params,
        answer.message,
        [&](const auto& result, const history::QueryRange& range) {
          answer.doc = history::HistoryToJson(result, range);
        });
    std::lock_guard lock(answers_mu_);
    answers_.push_back(std::move(answer));
    uint64_t one = 1;
    (void)!write(wake_, &one, sizeof one);
  });
  if (queued) return 1;  // answered from the bus thread once the query is done
  call->reset();
  return ReplyError(
      error, "org.shmstats.Stats1.Error.Busy",
      fmt::format("busy: {} GetHistory calls are waiting; retry later", kHistoryQueue));
}

void DbusApi::SendAnswers() {
  std::vector<Answer> done;
  {
    std::lock_guard lock(answers_mu_);
    done.swap(answers_);
  }
  for (auto& a : done) {
    sd_bus_message* m = a.call->message;
    int r =
        a.status == 200
            ? ReplyHistory(m, a.doc)
            : sd_bus_reply_method_errorf(
                  m, a.status == 400 ? SD_BUS_ERROR_INVALID_ARGS : "org.shmstats.Stats1.Error.Busy",
                  "%s", a.message.c_str());
    if (r < 0) {
      Log("warning", fmt::format("D-Bus: cannot send a GetHistory reply: {}", std::strerror(-r)));
    }
  }
}

Segment& DbusApi::Writable() {
  if (!writable_ || writable_->Replaced()) {
    writable_.reset();
    writable_.emplace(Segment::Open(config_.segment, Access::kReadWrite));
  }
  return *writable_;
}

void DbusApi::Record(const std::function<void(Segment&)>& record) {
  Segment& s = Writable();
  try {
    record(s);
  } catch (...) {  // refused: no handle is held either
    s.DroppedDeletedBefore(Segment::DeletionMark());
    throw;
  }
  s.DroppedDeletedBefore(Segment::DeletionMark());
}

void DbusApi::Start() {
  bool system = config_.dbus == "system";
  int r = system ? sd_bus_open_system(&bus_) : sd_bus_open_user(&bus_);
  if (r >= 0) r = sd_bus_add_object_vtable(bus_, &slot_, kPath, kName, kVtable, this);
  if (r >= 0) r = sd_bus_request_name(bus_, kName, 0);
  if (r < 0) {
    throw Error(Errc::kSystem,
                fmt::format("D-Bus: cannot serve {} on the {} bus: {} (is the bus running, and "
                            "its policy file org.shmstats.Stats1.conf installed?)",
                            kName, config_.dbus, std::strerror(-r)));
  }
  thread_ = std::thread([this] { Serve(); });
  Log("info", fmt::format("D-Bus: {} on the {} bus", kName, config_.dbus));
}

void DbusApi::Stop() {
  stop_ = true;
  uint64_t one = 1;
  if (wake_ >= 0) (void)!write(wake_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  queries_->Stop();  // a running query sees stop_ and gives up; waiting ones are dropped
}

void DbusApi::Wait() {
  // The bus's descriptor and timeout (sd_bus_wait's), and wake_ for answers and
  // Stop(); ticks are looked at every 0.2 s at least.
  pollfd fds[2] = {{sd_bus_get_fd(bus_), static_cast<short>(sd_bus_get_events(bus_)), 0},
                   {wake_, POLLIN, 0}};
  int timeout_ms = 200;
  uint64_t until = 0;
  if (sd_bus_get_timeout(bus_, &until) >= 0 && until != UINT64_MAX) {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    uint64_t now_us = static_cast<uint64_t>(now.tv_sec) * 1'000'000 + now.tv_nsec / 1000;
    timeout_ms = until <= now_us
                     ? 0
                     : static_cast<int>(std::min<uint64_t>(200, (until - now_us + 999) / 1000));
  }
  if (poll(fds, 2, timeout_ms) > 0 && (fds[1].revents & POLLIN)) {
    uint64_t n;
    (void)!read(wake_, &n, sizeof n);
  }
}

void DbusApi::Serve() {
  uint64_t sent = 0;
  while (!stop_) {
    int r = sd_bus_process(bus_, nullptr);
    if (r < 0) {
      Log("error", fmt::format("D-Bus: {}; the API stops", std::strerror(-r)));
      return;
    }
    if (r > 0) continue;
    SendAnswers();
    if (uint64_t ticks = ticks_.load(); ticks != sent) {
      sent = ticks;
      sd_bus_emit_signal(bus_, kPath, kName, "Tick", "t",
                         static_cast<uint64_t>(collector_.LastTickMs()));
      sd_bus_emit_properties_changed(bus_, kPath, kName, "LastTick", "Status", nullptr);
      continue;
    }
    Wait();
  }
}

}  // namespace shmstats::daemon
