// SPDX-License-Identifier: Apache-2.0
// statsd_load: how fast a running shmstatsd ingests statsd lines.
//
//   statsd_load SHMSTATSD [LINES] [LINES_PER_DATAGRAM]
//
// Starts SHMSTATSD --statsd on a loopback port it chooses (read from its --port-file)
// with a scratch segment, sends LINES
// counter lines (default 5,000,000) from this process over UDP in datagrams of
// LINES_PER_DATAGRAM lines (default 20; 1 is a client that does not batch), and
// waits until the daemon has recorded them. Flow control keeps the lines in flight
// under what the daemon's receive buffer holds, so no line need be lost: losses are
// reported from /proc/net/snmp (Udp RcvbufErrors) and from the recorded total.
//
// Reported: wall-clock lines per second, the daemon's CPU per million lines (its
// utime+stime from /proc/PID/stat), lines per CPU-second (one core: the listener is
// one thread), and the floor beside it: this process receiving the same datagrams
// with recvmmsg and doing nothing with them, CPU per million lines. Printed, never
// asserted (a shared machine is not a test).

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "shmstats/shmstats.h"

namespace {

using Clock = std::chrono::steady_clock;

// A UDP socket bound to a free loopback port; the port in *port.
int BoundLoopbackUdp(int* port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

// The port shmstatsd wrote into its --port-file for `door` ("statsd"), once written
// (before it is ready), or 0 if `daemon` exited or 30 s passed first.
int AwaitPort(const std::string& port_file, const std::string& door, pid_t daemon) {
  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline && waitpid(daemon, nullptr, WNOHANG) == 0) {
    std::ifstream in(port_file);
    std::string key;
    int port = 0;
    while (in >> key >> port) {
      if (key == door) return port;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polls the file
  }
  return 0;
}

uint64_t RcvbufErrors() {
  std::ifstream in("/proc/net/snmp");
  std::string header, values;
  while (std::getline(in, header) && std::getline(in, values)) {
    if (header.rfind("Udp:", 0) != 0) continue;
    std::istringstream h(header), v(values);
    std::string name, value;
    while (h >> name && v >> value) {
      if (name == "RcvbufErrors") return std::stoull(value);
    }
  }
  return 0;
}

// utime + stime of a process (or of one of its threads: "PID/task/TID"), seconds.
double CpuSeconds(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// "PID/task/TID" of the daemon's thread named `name` (shmstatsd names its statsd
// listener "statsd"); the whole process when there is none.
std::string ThreadOf(pid_t pid, const std::string& name) {
  const std::string task = "/proc/" + std::to_string(pid) + "/task";
  for (int tries = 0; tries < 100; ++tries) {
    for (const auto& e : std::filesystem::directory_iterator(task)) {
      std::ifstream comm(e.path() / "comm");
      std::string line;
      if (std::getline(comm, line) && line == name) {
        return std::to_string(pid) + "/task/" + e.path().filename().string();
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::to_string(pid);
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::vector<std::string> Datagrams(int lines_per_datagram) {
  // 100 series, as an application's mix of names would give.
  std::vector<std::string> out;
  for (int d = 0; d < 100; ++d) {
    std::string text;
    for (int l = 0; l < lines_per_datagram; ++l) {
      text += "bench.load.requests_" + std::to_string((d * lines_per_datagram + l) % 100) +
              ":1|c|#env:bench\n";
    }
    out.push_back(text);
  }
  return out;
}

uint64_t Recorded(shmstats::Segment& segment) {
  uint64_t total = 0;
  for (const auto& m : segment.Read().metrics) {
    if (m.name.rfind("bench_load_requests_", 0) == 0) total += m.counter;
  }
  return total;
}

// Sends `lines` lines to `port`, keeping at most `window` lines not yet recorded;
// gives up after 60 s (a lost datagram would otherwise hold the window forever).
void Send(int port, uint64_t lines, int per, uint64_t window,
          const std::function<uint64_t()>& recorded) {
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  auto grams = Datagrams(per);
  uint64_t sent = 0, done = 0;
  size_t i = 0;
  while (sent < lines && Clock::now() < deadline) {
    if (sent - done >= window) {
      done = recorded();
      if (sent - done >= window) std::this_thread::yield();
      continue;
    }
    const std::string& g = grams[i++ % grams.size()];
    if (send(fd, g.data(), g.size(), 0) == static_cast<ssize_t>(g.size())) sent += per;
  }
  close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: statsd_load SHMSTATSD [LINES] [LINES_PER_DATAGRAM]\n");
    return 2;
  }
  uint64_t lines = argc > 2 ? std::stoull(argv[2]) : 5'000'000;
  int per = argc > 3 ? std::stoi(argv[3]) : 20;
  lines -= lines % per;
  // 1,000 datagrams in flight: well within the 4-8 MiB receive buffer shmstatsd asks
  // for (drops would show in RcvbufErrors), and enough for the receiver to take them
  // in batches as it would from unthrottled clients.
  const uint64_t window = 1000 * static_cast<uint64_t>(per);
  std::string segment = "statsd-load-" + std::to_string(getpid());
  shmstats::Segment::Remove(segment);
  auto seg = shmstats::Segment::Create(segment);
  char state[] = "/tmp/statsd-load.XXXXXX";
  mkdtemp(state);
  const std::string port_file = std::string(state) + "/ports";

  pid_t daemon = fork();
  if (daemon == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 2);
    execl(argv[1], argv[1], "--segment", segment.c_str(), "--state-dir", state, "--stats-json",
          "none", "--listen", "127.0.0.1:0", "--statsd", "127.0.0.1:0", "--port-file",
          port_file.c_str(), "--interval", "60s", static_cast<char*>(nullptr));
    _exit(127);
  }
  // The ports the daemon got, written once it listens (no port is probed, no sleep).
  const int port = AwaitPort(port_file, "statsd", daemon);
  if (port == 0) {
    std::fprintf(stderr, "statsd_load: shmstatsd wrote no statsd port to %s\n", port_file.c_str());
    kill(daemon, SIGKILL);
    waitpid(daemon, nullptr, 0);
    return 1;
  }
  Send(port, 1000, 1, 1000, [] { return 0; });  // warm up: series registered
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Recorded(seg) < 1000 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  uint64_t base = Recorded(seg);

  uint64_t drops0 = RcvbufErrors();
  const std::string listener = ThreadOf(daemon, "statsd");
  double cpu0 = CpuSeconds(std::to_string(daemon)), listener_cpu0 = CpuSeconds(listener);
  auto t0 = Clock::now();
  Send(port, lines, per, window, [&] { return Recorded(seg) - base; });
  deadline = Clock::now() + std::chrono::seconds(60);
  while (Recorded(seg) - base < lines && Clock::now() < deadline) std::this_thread::yield();
  double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  double cpu = CpuSeconds(std::to_string(daemon)) - cpu0;
  double listener_cpu = CpuSeconds(listener) - listener_cpu0;
  uint64_t recorded = Recorded(seg) - base;
  uint64_t drops = RcvbufErrors() - drops0;
  kill(daemon, SIGTERM);
  waitpid(daemon, nullptr, 0);

  // The floor: the same datagrams received by a bare recvmmsg loop.
  int floor_port = 0;
  int rfd = BoundLoopbackUdp(&floor_port);
  std::atomic<uint64_t> floor_lines{0};
  double floor_cpu = 0;
  std::thread receiver([&] {
    std::vector<char> buf(64 * 65536);
    mmsghdr msgs[64];
    iovec iov[64];
    double c0 = ThreadCpuSeconds();
    timeval tv{1, 0};
    setsockopt(rfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while (floor_lines.load() < lines) {
      for (int i = 0; i < 64; ++i) {
        iov[i] = {buf.data() + i * 65536, 65536};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      int n = recvmmsg(rfd, msgs, 64, MSG_WAITFORONE, nullptr);
      if (n <= 0) break;
      floor_lines.fetch_add(static_cast<uint64_t>(n) * per);
    }
    floor_cpu = ThreadCpuSeconds() - c0;
  });
  Send(floor_port, lines, per, window, [&] { return floor_lines.load(); });
  receiver.join();
  close(rfd);
  shmstats::Segment::Remove(segment);
  std::string rm = std::string("rm -rf ") + state;
  (void)!system(rm.c_str());

  // CPU seconds per line x 1e6 lines x 1e3 ms.
  double ms_per_mline = cpu / static_cast<double>(lines) * 1e9;
  double floor_ms = floor_cpu / static_cast<double>(lines) * 1e9;
  std::printf("statsd_load: %llu lines, %d per datagram, window %llu lines\n",
              static_cast<unsigned long long>(lines), per, static_cast<unsigned long long>(window));
  std::printf("  recorded %llu (%llu lost), RcvbufErrors +%llu\n",
              static_cast<unsigned long long>(recorded),
              static_cast<unsigned long long>(lines - std::min(lines, recorded)),
              static_cast<unsigned long long>(drops));
  std::printf("  wall: %.2f s, %.0f lines/s\n", wall, static_cast<double>(lines) / wall);
  std::printf("  shmstatsd CPU: %.2f s, %.0f ms per million lines, %.0f lines per CPU-second\n",
              cpu, ms_per_mline, cpu > 0 ? static_cast<double>(lines) / cpu : 0.0);
  double listener_ms = listener_cpu / static_cast<double>(lines) * 1e9;
  std::printf(
      "  listener thread CPU: %.2f s, %.0f ms per million lines, %.0f lines per CPU-second\n",
      listener_cpu, listener_ms,
      listener_cpu > 0 ? static_cast<double>(lines) / listener_cpu : 0.0);
  std::printf("  floor (bare recvmmsg, same datagrams): %.0f ms per million lines\n", floor_ms);
  std::printf("  ratio listener / floor: %.2f\n", floor_ms > 0 ? listener_ms / floor_ms : 0.0);
  std::printf(
      "  target >= 500000 lines per CPU-second of the listener: %s\n",
      listener_cpu > 0 && static_cast<double>(lines) / listener_cpu >= 500000 ? "met" : "MISSED");
  return recorded == lines ? 0 : 1;
}
