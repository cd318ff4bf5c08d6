// SPDX-License-Identifier: Apache-2.0
// statsctl info: where the segment lives, its format and how full it is.

#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>

#include "history/time.h"
#include "tools/json_output.h"
#include "tools/segment_access.h"
#include "tools/table.h"

namespace shmstats::statsctl {
namespace {

struct InfoOptions {
  bool families = false;
};

std::string UserName(uid_t uid) {
  const passwd* p = getpwuid(uid);
  return p ? p->pw_name : std::to_string(uid);
}

std::string GroupName(gid_t gid) {
  const group* g = getgrgid(gid);
  return g ? g->gr_name : std::to_string(gid);
}

double Percent(uint64_t used, uint64_t max) { return max ? 100.0 * used / max : 0; }

}  // namespace

Exit PrintInfo(const GlobalOptions& global, const Segment& segment) {
  SegmentInfo i = segment.Info();
  nlohmann::json doc = JsonDocument(global);
  doc["info"] = {
      {"path", i.path},
      {"format_version", i.format_version},
      {"size_bytes", i.size_bytes},
      {"resident_bytes", i.resident_bytes},
      {"max_metrics", i.max_metrics},
      {"metrics_used", i.metrics_used},
      {"metrics_free", i.max_metrics - std::min(i.max_metrics, i.descriptors_used)},
      {"metrics_abandoned", i.metrics_abandoned},
      {"claims_dead", i.claims_dead},
      {"process_series_live", i.process_series_live},
      {"process_series_dead", i.process_series_dead},
      {"process_series_reusable", i.process_series_reusable},
      {"process_series_retired_total", i.process_series_retired_total},
      {"process_series_reused_total", i.process_series_reused_total},
      {"max_slots", i.max_slots},
      {"slots_used", i.slots_used},
      {"slots_free", i.max_slots - std::min(i.max_slots, i.slots_used)},
      {"string_bytes", i.string_bytes},
      {"strings_used", i.strings_used},
      {"registrations_refused", i.registrations_refused},
      {"series_deleted", i.series_deleted},
      {"deleted_total", i.deleted_total},
      {"revived_total", i.revived_total},
      {"refilled_total", i.refilled_total},
      {"overflowed_total", i.overflowed_total},
      {"family_limit", i.family_limit},
      {"producers_max", i.producers_max},
      {"producers_used", i.producers_used},
      {"producers_refused", i.producers_refused},
      {"created_unix_ns", i.created_unix_ns},
      {"created", history::FormatRfc3339(static_cast<int64_t>(i.created_unix_ns / 1'000'000))},
      {"instance_id", fmt::format("{:016x}", i.instance_id)},
      {"mode", fmt::format("{:04o}", i.mode)},
      {"owner", UserName(i.uid)},
      {"group", GroupName(i.gid)},
  };
  if (global.json) {
    PrintJson(doc);
    return Exit::kOk;
  }
  const auto& j = doc["info"];
  Table t({"segment", global.segment});
  t.Add({"path", i.path});
  t.Add({"format version", std::to_string(i.format_version)});
  t.Add({"size", fmt::format("{} bytes ({:.1f} MiB)", i.size_bytes, i.size_bytes / 1048576.0)});
  t.Add({"resident", fmt::format("{} bytes ({:.1f} MiB): the memory its sparse file uses",
                                 i.resident_bytes, i.resident_bytes / 1048576.0)});
  t.Add({"metrics", fmt::format("{} used, {} free of {} ({:.1f}% used)", i.metrics_used,
                                j["metrics_free"].get<uint64_t>(), i.max_metrics,
                                Percent(i.metrics_used, i.max_metrics))});
  t.Add(
      {"abandoned",
       fmt::format("{} descriptors (registrations that lost a race or were refused; never reused)",
                   i.metrics_abandoned)});
  t.Add({"dead claims",
         fmt::format("{} descriptors claimed by processes that are gone (the next registration "
                     "of a series they linked publishes it)",
                     i.claims_dead)});
  t.Add({"process series",
         fmt::format("{} live, {} of exited processes (retired at shmstatsd's next tick), {} "
                     "retired and reusable; {} retired and {} reused since creation",
                     i.process_series_live, i.process_series_dead, i.process_series_reusable,
                     i.process_series_retired_total, i.process_series_reused_total)});
  t.Add({"slots", fmt::format("{} used, {} free of {} ({:.1f}% used; 8 bytes each)", i.slots_used,
                              j["slots_free"].get<uint64_t>(), i.max_slots,
                              Percent(i.slots_used, i.max_slots))});
  t.Add({"strings",
         fmt::format("{} bytes used of {} ({:.1f}% used; names, labels, help, units)",
                     i.strings_used, i.string_bytes, Percent(i.strings_used, i.string_bytes))});
  t.Add({"refused",
         fmt::format("{} registrations refused for lack of room{}", i.registrations_refused,
                     i.registrations_refused ? ": re-create the segment larger "
                                               "(statsctl create --max-metrics N "
                                               "--max-slots N)"
                                             : "")});
  t.Add({"deleted",
         fmt::format("{} series now; since creation {} deleted, {} registered again, "
                     "{} of their rooms given to other series",
                     i.series_deleted, i.deleted_total, i.revived_total, i.refilled_total)});
  t.Add({"family limit",
         fmt::format("{}; {} registrations sent to an overflow series (statsctl info --families)",
                     i.family_limit   ? std::to_string(i.family_limit) + " series by default"
                     : i.family_table ? "none by default"
                                      : "none (segment made before family limits)",
                     i.overflowed_total)});
  t.Add({"producers", fmt::format("{} records used of {} (statsctl ps); {} producers found it full",
                                  i.producers_used, i.producers_max, i.producers_refused)});
  t.Add({"created", history::FormatRfc3339(static_cast<int64_t>(i.created_unix_ns / 1'000'000))});
  t.Add({"instance", j["instance_id"].get<std::string>()});
  t.Add({"access", fmt::format("mode {:04o}, owner {}, group {}", i.mode, UserName(i.uid),
                               GroupName(i.gid))});
  t.Print(stdout);
  return Exit::kOk;
}

namespace {

Exit PrintFamilies(const GlobalOptions& global, const Segment& segment) {
  std::vector<FamilyInfo> families = segment.Families();
  nlohmann::json doc = JsonDocument(global);
  nlohmann::json& list = doc["families"] = nlohmann::json::array();
  Table t({"FAMILY", "TYPE", "SERIES", "LIMIT", "OVERFLOWED"});
  for (const FamilyInfo& f : families) {
    list.push_back({{"name", f.name},
                    {"type", TypeName(f.type)},
                    {"series", f.series},
                    {"overflow_series", f.overflow_series != 0},
                    {"limit", f.limit},
                    {"overflowed", f.overflowed}});
    t.Add({f.name, std::string(TypeName(f.type)), std::to_string(f.series),
           f.limit ? std::to_string(f.limit) : "-", std::to_string(f.overflowed)});
  }
  if (global.json)
    PrintJson(doc);
  else
    t.Print(stdout);
  return Exit::kOk;
}

Exit RunInfo(const GlobalOptions& global, const InfoOptions& opts) {
  Segment segment = OpenSegment(global, Access::kReadOnly);
  return opts.families ? PrintFamilies(global, segment) : PrintInfo(global, segment);
}

}  // namespace

void SetupInfo(CLI::App& app, Runner* out) {
  auto opts = std::make_shared<InfoOptions>();
  CLI::App* sub = app.add_subcommand("info", "Show the segment's path, format, capacity and use");
  sub->add_flag("--families", opts->families,
                "list the families instead, most series first, with their limit and the "
                "registrations sent to their overflow series");
  sub->footer(R"(When registrations are refused the segment is full: existing metrics keep
working; re-create it with a larger --max-metrics or --max-slots. Process-scoped
series of exited processes are retired by shmstatsd every tick and their room reused.

Examples:
  statsctl info
  statsctl --segment myapp info --json | jq '.info.metrics_free'
  statsctl info --families)");
  OnParsed(sub, opts, &RunInfo, out);
}

}  // namespace shmstats::statsctl
