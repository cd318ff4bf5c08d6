// SPDX-License-Identifier: Apache-2.0
// shmstatsd: the collector daemon. Runs in the foreground (systemd Type=notify);
// SIGTERM or SIGINT takes a final snapshot, flushes the history and exits 0.

#include <fmt/format.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <thread>

#include "daemon/collector.h"
#include "daemon/config.h"
#include "daemon/dbus/api.h"
#include "daemon/http/server.h"
#include "daemon/log.h"
#include "daemon/process_metrics.h"
#include "daemon/state_files.h"
#include "daemon/statsd/listener.h"
#include "daemon/status_line.h"
#include "daemon/systemd/notify.h"
#include "shmstats/error.h"

int main(int argc, char** argv) {
  using namespace shmstats::daemon;
  Config config;
  if (int status = ParseConfig(argc, argv, config); status >= 0) return status;

  // Signals are taken by one thread with sigwait; every other thread blocks them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Scrapes on the server's threads would otherwise each grow a malloc arena that
  // keeps its peak (a 10,000-series scrape builds megabytes of text).
  mallopt(M_ARENA_MAX, 2);
  // A tick's and a scrape's large buffers (the snapshot's array, the documents, the
  // text: megabytes at 100,000 series) each in a mapping of its own, unmapped when
  // freed. Setting the threshold stops glibc from raising it to the largest buffer
  // freed so far, which put every later one in the heap, where it stayed resident.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);

  int status = 0;
  try {
    Collector collector(config);
    // A thread's body: an exception it lets out is logged and stops the daemon with
    // status 1 (systemd restarts it), instead of terminating it without a final tick.
    auto guarded = [&](const char* what, std::function<void()> body) {
      return [&collector, &status, what, body = std::move(body)] {
        try {
          body();
        } catch (const std::exception& e) {
          Log("error", fmt::format("{} stopped: {}", what, e.what()));
          status = 1;
          collector.Stop();
        }
      };
    };
    std::unique_ptr<StatsdListener> statsd;  // --statsd / --statsd-socket
    if (!config.statsd.empty() || !config.statsd_socket.empty()) {
      statsd = std::make_unique<StatsdListener>(config.segment, config.statsd, config.statsd_socket,
                                                config.statsd_cache_bytes);
      statsd->SetSeriesOptions(config.statsd_ttl_seconds, config.statsd_family_limit);
      collector.self_metrics().AddSource([&](auto& out) { statsd->Collect(out); });
    }
    collector.self_metrics().AddSource([&](auto& out) {
      auto segment = collector.Attached();
      CollectProcessMetrics(segment.get(), out);
    });
    HttpServer http(config, collector);
    int http_port = http.Bind();
    std::string ports = fmt::format("http {}\n", http_port);
    std::thread statsd_thread;
    if (statsd) {
      statsd_thread = std::thread(guarded("statsd listener", [&] { statsd->Run(); }));
      std::string udp;
      if (!config.statsd.empty()) {
        udp = fmt::format("udp port {}", statsd->udp_port());
        ports += fmt::format("statsd {}\n", statsd->udp_port());
      }
      Log("info", fmt::format("statsd on {}{}{}", udp,
                              udp.empty() || config.statsd_socket.empty() ? "" : " and ",
                              config.statsd_socket));
    }
    // Written whole (renamed into place) before READY=1: a reader sees both ports or none.
    if (!config.port_file.empty()) WriteFileAtomically(config.port_file, ports);
    std::unique_ptr<DbusApi> dbus;
    if (config.dbus != "off") {
      dbus = std::make_unique<DbusApi>(config, collector);
      try {
        dbus->Start();
      } catch (const shmstats::Error& e) {
        Log("error", e.what());  // collection and HTTP go on without it
        dbus.reset();
      }
    }
    Notifier notifier;
    collector.SetHeartbeat(
        [&](bool ticked) {
          notifier.Beat(StatusLine(config.segment, collector));
          if (ticked && dbus) dbus->TickDone();
        },
        notifier.beat_every_ms());
    std::thread server(guarded("HTTP server", [&] { http.Serve(); }));
    std::thread waiter([&] {
      int sig = 0;
      while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
      }
      Log("info", fmt::format("signal {}: final snapshot, then exit", sig));
      notifier.Stopping();
      collector.Stop();
    });
    Log("info", fmt::format("segment {}, every {} ms, listening on http://{}:{}/metrics",
                            config.segment, config.interval_ms, config.listen_host, http_port));
    notifier.Ready(StatusLine(config.segment, collector));  // listening; segment tried
    collector.Run();
    if (statsd) {
      statsd->Stop();
      statsd_thread.join();
    }
    http.Stop();
    server.join();
    pthread_kill(waiter.native_handle(), SIGTERM);  // wakes it if Run ended otherwise
    waiter.join();
    if (!config.port_file.empty()) unlink(config.port_file.c_str());
  } catch (const std::exception& e) {
    Log("error", e.what());
    return 1;
  }
  return status;
}
