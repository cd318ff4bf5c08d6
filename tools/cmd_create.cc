// SPDX-License-Identifier: Apache-2.0
// statsctl create: make a segment with a chosen capacity, mode and group.

#include <fmt/format.h>

#include "common/segment_options.h"
#include "tools/segment_access.h"

namespace shmstats::statsctl {

namespace {

struct CreateOptions {
  uint32_t max_metrics = SegmentOptions{}.max_metrics;
  uint32_t max_slots = SegmentOptions{}.max_slots;
  uint32_t max_producers = SegmentOptions{}.max_producers;
  std::string mode = "0640";
  std::string group;
  uint32_t family_limit = 0;
};

SegmentOptions ToSegmentOptions(const CreateOptions& o) {
  try {
    SegmentOptions options =
        common::ParseSegmentOptions(o.max_metrics, o.max_slots, o.mode, o.group);
    options.family_limit = o.family_limit;
    options.max_producers = o.max_producers;
    return options;
  } catch (const Error& e) {
    throw CommandError(Exit::kUsage, e.what());
  }
}

Exit RunCreate(const GlobalOptions& global, const CreateOptions& opts) {
  SegmentOptions options = ToSegmentOptions(opts);
  Segment segment = [&] {
    try {
      return Segment::Create(global.segment, options);
    } catch (const Error& e) {
      if (e.code() != Errc::kAlreadyExists) throw;
      throw CommandError(Exit::kConflict,
                         fmt::format("{}: use it as it is, or remove it first (statsctl "
                                     "--segment {} remove)",
                                     e.what(), global.segment));
    }
  }();
  return PrintInfo(global, segment);
}

}  // namespace

void SetupCreate(CLI::App& app, Runner* out) {
  auto opts = std::make_shared<CreateOptions>();
  CLI::App* sub = app.add_subcommand("create", "Create a segment with a fixed capacity");
  sub->add_option("--max-metrics", opts->max_metrics,
                  "series it can hold, 128 bytes each plus their names and labels (default "
                  "131072); the file is sparse: memory is used only as series are registered");
  sub->add_option("--max-slots", opts->max_slots,
                  "8-byte value slots (default 16777216); a counter or gauge takes 8, a "
                  "histogram 3 per bucket plus 1 rounded up to 8");
  sub->add_option("--max-producers", opts->max_producers,
                  "processes it keeps a record of (statsctl ps), 128 bytes each (default 256); "
                  "records of exited processes are reused");
  sub->add_option("--mode", opts->mode, "octal permissions (default 0640; umask does not apply)");
  sub->add_option("--group", opts->group, "group name or id to give the segment");
  sub->add_option("--family-limit", opts->family_limit,
                  "series a family may have before new label sets go to its overflow series "
                  "(counted; see info --families); a family's own limit wins (default 0: none)");
  sub->footer(R"(Prints what `statsctl info` shows for the new segment. Exits 5 if the
segment already exists.

Examples:
  statsctl --segment myapp create --max-metrics 20000 --max-slots 1048576
  statsctl create --mode 0660 --group adm)");
  OnParsed(sub, opts, &RunCreate, out);
}

}  // namespace shmstats::statsctl
