// SPDX-License-Identifier: Apache-2.0
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
//       the fields of /stats/history's JSON); from/to as there (-1h, now, unix time).
//       Bounded as /stats/history (range, 500 series, 5 s budget; 50,000 points: a
//       reply is one bus message): over a bound InvalidArgs, past the budget or
//       while stopping Error.Busy. Run on 2 query threads, never on the bus thread,
//       with 4 calls waiting at most: beyond, Error.Busy at once.
//   Reset(s selector) -> a(sa{ss}sa{sv})             the values they had; needs
//                                                     --enable-reset (as over HTTP)
//   properties: Segment (s), LastTick (t, unix ms, 0 before the first), Status (s)
//   signal: Tick(t unix_ms) after every collection tick
//
// Errors: org.freedesktop.DBus.Error.InvalidArgs for a bad name, label, selector,
// value or range (the message says what to write); org.shmstats.Stats1.Error.NoMatch,
// .NotFound (segment or history missing), .Full, .TypeMismatch, .Busy, .Failed; and
// org.freedesktop.DBus.Error.AccessDenied for Reset while reset is disabled.
// Who may call what is the bus policy's business (packaging/org.shmstats.Stats1.conf).
//
// Thread-safety: the bus is served on a thread of its own; TickDone() may be called
// from any thread.

#include <sys/types.h>
#include <systemd/sd-bus.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "daemon/collector.h"
#include "daemon/config.h"
#include "daemon/history_query.h"
#include "daemon/worker_pool.h"

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
  // Runs `record` on Writable() from the bus thread. The door keeps no handle past a
  // call and declares so after each (Segment::DroppedDeletedBefore): the room of a
  // series deleted meanwhile may go to another key while the daemon runs.
  void Record(const std::function<void(Segment&)>& record);
  // Queues GetHistory call `m` for a query thread and returns 1 (replied to later,
  // from the bus thread), or replies Error.Busy at once when the queue is full.
  int QueueHistory(sd_bus_message* m, HistoryParams params, sd_bus_error* error);
  // GetHistory's bounds: /stats/history's, with fewer points (one bus message).
  static HistoryLimits history_limits();

 private:
  struct Call;
  struct Answer;
  static constexpr int kHistoryThreads = 2;  // as HTTP's query lane
  static constexpr size_t kHistoryQueue = 4;
  void Serve();
  void Wait();         // for the bus, an answer, Stop(), or 0.2 s
  void SendAnswers();  // replies to the GetHistory calls whose queries are done
  const Config& config_;
  Collector& collector_;
  sd_bus* bus_ = nullptr;
  sd_bus_slot* slot_ = nullptr;
  std::optional<Segment> writable_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> ticks_{0};
  int wake_ = -1;  // eventfd: an answer is ready, or Stop()
  std::mutex answers_mu_;
  std::vector<Answer> answers_;  // done queries, replied to from the bus thread
  std::unique_ptr<WorkerPool> queries_;
  std::thread thread_;
};

}  // namespace shmstats::daemon
