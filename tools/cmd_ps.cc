// SPDX-License-Identifier: Apache-2.0
// statsctl ps: the processes that record into the segment, live or exited.

#include <fmt/format.h>
#include <pwd.h>

#include <algorithm>
#include <map>

#include "history/time.h"
#include "tools/json_output.h"
#include "tools/segment_access.h"
#include "tools/table.h"

namespace shmstats::statsctl {
namespace {

struct PsOptions {
  bool live = false;
};

// Looked up once per uid: the table may hold hundreds of records of a few users.
std::string UserName(uint32_t uid) {
  static std::map<uint32_t, std::string> names;
  auto [it, fresh] = names.try_emplace(uid);
  if (fresh) {
    const passwd* p = getpwuid(uid);
    it->second = p ? p->pw_name : std::to_string(uid);
  }
  return it->second;
}

std::string Time(uint64_t unix_ns) {
  return unix_ns ? history::FormatRfc3339(static_cast<int64_t>(unix_ns / 1'000'000)) : "-";
}

Exit RunPs(const GlobalOptions& global, const PsOptions& opts) {
  Segment segment = OpenSegment(global, Access::kReadOnly);
  std::vector<ProducerInfo> producers = segment.Producers();
  const SegmentInfo info = segment.Info();
  std::erase_if(producers, [&](const ProducerInfo& p) { return opts.live && !p.alive; });
  // Live ones first, then the most recently attached.
  std::stable_sort(producers.begin(), producers.end(), [](const auto& a, const auto& b) {
    return a.alive != b.alive ? a.alive : a.attached_unix_ns > b.attached_unix_ns;
  });
  if (global.json) {
    nlohmann::json doc = JsonDocument(global);
    doc["producer_table"] = {{"max", info.producers_max},
                             {"used", info.producers_used},
                             {"refused", info.producers_refused},
                             {"reused", info.producers_reused}};
    doc["producers"] = nlohmann::json::array();
    for (const auto& p : producers)
      doc["producers"].push_back({
          {"pid", p.pid},
          {"start_ticks", p.start_ticks},
          {"state", p.alive ? "live" : "exited"},
          {"uid", p.uid},
          {"user", UserName(p.uid)},
          {"command", p.command},
          {"job", p.job},
          {"attached_unix_ns", p.attached_unix_ns},
          {"attached", Time(p.attached_unix_ns)},
          {"last_activity_unix_ns",
           p.last_activity_unix_ns ? nlohmann::json(p.last_activity_unix_ns) : nlohmann::json()},
          {"series", p.series},
          {"process_metrics", p.process_metrics},
      });
    PrintJson(doc);
    return Exit::kOk;
  }
  Table t({"PID", "USER", "COMMAND", "JOB", "STATE", "SERIES", "ATTACHED", "LAST ACTIVITY"});
  for (const auto& p : producers)
    t.Add({std::to_string(p.pid), UserName(p.uid), p.command, p.job.empty() ? "-" : p.job,
           p.alive ? "live" : "exited", std::to_string(p.series), Time(p.attached_unix_ns),
           Time(p.last_activity_unix_ns)});
  t.Print(stdout);
  if (info.producers_refused)
    std::fprintf(stderr,
                 "statsctl: %llu producers found the table of %u records full and have none: "
                 "re-create the segment with more (statsctl create --max-producers N)\n",
                 static_cast<unsigned long long>(info.producers_refused), info.producers_max);
  return Exit::kOk;
}

}  // namespace

void SetupPs(CLI::App& app, Runner* out) {
  auto opts = std::make_shared<PsOptions>();
  CLI::App* sub =
      app.add_subcommand("ps", "List the processes that record into the segment, live or exited");
  sub->add_flag("--live", opts->live, "only the processes that still run");
  sub->footer(R"FOOTER(Every process leaves a record at its first registration: pid, user, command,
job (SHMSTATS_JOB, or the API), when it attached, the series it created and the
last shmstatsd tick in which one of them changed. Records of exited processes stay
until a new producer needs their room. Whether a process lives is decided by a
lock it holds on the segment, so ps is right even where /proc hides it.

Examples:
  statsctl ps
  statsctl ps --live --json | jq -r '.producers[] | "\(.pid) \(.job)"')FOOTER");
  OnParsed(sub, opts, &RunPs, out);
}

}  // namespace shmstats::statsctl
