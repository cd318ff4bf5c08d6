// shmstatsd: the collector daemon. Runs in the foreground (systemd Type=simple);
// SIGTERM or SIGINT takes a final snapshot, flushes the history and exits 0.

#include <fmt/format.h>
#include <malloc.h>
#include <signal.h>

#include <thread>

#include "collector.h"
#include "config.h"
#include "http_server.h"
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

  try {
    Collector collector(config);
    HttpServer http(config, collector);
    http.Bind();
    std::thread server([&] { http.Serve(); });
    std::thread waiter([&] {
      int sig = 0;
      while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
      }
      Log("info", fmt::format("signal {}: final snapshot, then exit", sig));
      collector.Stop();
    });
    Log("info", fmt::format("segment {}, every {} ms, listening on http://{}/metrics",
                            config.segment, config.interval_ms, config.listen));
    collector.Run();
    http.Stop();
    server.join();
    pthread_kill(waiter.native_handle(), SIGTERM);  // wakes it if Run ended otherwise
    waiter.join();
  } catch (const shmstats::Error& e) {
    Log("error", e.what());
    return 1;
  }
  return 0;
}
