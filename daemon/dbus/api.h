#pragma once

// shmstatsd's D-Bus API (sd-bus, libsystemd): bus name and interface
// org.shmstats.Stats1 on the object /org/shmstats/Stats1, on the system bus
// (--dbus system; the packaged config) or the session bus (--dbus session, tests).
// A metric travels as the struct (s name, a{ss} labels, s type, a{sv} values):
// counter {value: t}; gauge {value: d}; histogram {count: t, sum: d, p50, p90, p99:
// d, bounds: ad, counts: at} (bounds finite, counts one more: the last is +Inf).
//
//   Increment(s name, a{ss} labels, t amount)        counter, registered on first use
//   SetGauge(s name, a{ss} labels, d value)           gauge, registered on first use
//   Observe(s name, a{ss} labels, d value, ad bounds) histogram; bounds are its explicit
//                                                     buckets when it is created
//   GetMetrics(s selector) -> a(sa{ss}sa{sv})        the series a selector matches
//   GetAllMetrics() -> a(sa{ss}sa{sv})
//   GetHistory(s selector, s from, s to, s step) -> a(sa{ss}saa{sv})
//       per series: name, labels, type, points ({t: x unix ms, increase, rate, ...}:
//       the fields of /stats/history's JSON); from/to as there (-1h, now, unix time)
//   Reset(s selector) -> a(sa{ss}sa{sv})             the values they had; needs
//                                                     --enable-reset (as over HTTP)
//   properties: Segment (s), LastTick (t, unix ms, 0 before the first), Status (s)
//   signal: Tick(t unix_ms) after every collection tick
//
// Errors: org.freedesktop.DBus.Error.InvalidArgs for a bad name, label, selector,
// value or range (the message says what to write); org.shmstats.Stats1.Error.NoMatch,
// .NotFound (segment or history missing), .Full, .TypeMismatch, .Failed; and
// org.freedesktop.DBus.Error.AccessDenied for Reset while reset is disabled.
// Who may call what is the bus policy's business (packaging/org.shmstats.Stats1.conf).
//
// Thread-safety: the bus is served on a thread of its own; TickDone() may be called
// from any thread.

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "daemon/collector.h"
#include "daemon/config.h"

struct sd_bus;
struct sd_bus_slot;

namespace shmstats::daemon {

class DbusApi {
 public:
  DbusApi(const Config& config, Collector& collector);
  ~DbusApi();
  // Connects to config.dbus ("system" or "session"), registers the object, takes
  // the name and starts serving. Throws shmstats::Error(kSystem) if it cannot.
  void Start();
  void Stop();
  // A tick finished: the Tick signal goes out from the bus thread.
  void TickDone() { ticks_.fetch_add(1); }

  // The sd-bus callbacks (C linkage trampolines) reach these.
  const Config& config() const { return config_; }
  Collector& collector() { return collector_; }
  Segment& Writable();  // the segment opened read-write (re-opened when replaced)

 private:
  void Serve();
  const Config& config_;
  Collector& collector_;
  sd_bus* bus_ = nullptr;
  sd_bus_slot* slot_ = nullptr;
  std::optional<Segment> writable_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> ticks_{0};
  std::thread thread_;
};

}  // namespace shmstats::daemon
