// SPDX-License-Identifier: Apache-2.0
#pragma once

// What inc, set, add and observe share: the series argument, the options that
// describe a metric registered on first use (--help-text, --unit), and the
// registration itself with its errors turned into statsctl messages.
//
// Every value is parsed and every name checked before the segment is opened, and
// registration checks the rest before it writes: a bad input leaves the segment
// unchanged (a registration refused for lack of room is counted in the header, as
// `statsctl info` shows).

#include <string>

#include "tools/parse.h"

namespace shmstats::statsctl {

struct RecordOptions {
  std::string series;        // NAME or NAME{label="value",...}
  std::string value;         // the number, as typed
  bool value_given = false;  // VALUE was on the command line (maybe empty)
  std::string help;          // --help-text, used when the metric is created
  std::string unit;          // --unit, used when the metric is created
};

// Adds SERIES (required), VALUE (required unless value_optional) and the
// --help-text/--unit options to `sub`.
void AddRecordOptions(CLI::App* sub, RecordOptions* opts, const char* value_name,
                      const char* value_help, bool value_optional = false);

// Opens the segment read-write, creating it with the library's defaults when it
// does not exist (as Segment::OpenOrCreate): the process that created it says so
// once on stderr, with the sizes and how to choose others. Registrations through it
// leave no producer record unless $SHMSTATS_JOB is set (record.cc says why).
Segment OpenForRecording(const GlobalOptions& global);

// The spec to register, from the series argument and the options.
MetricSpec SpecFor(const RecordOptions& opts);

// Runs register(), rethrowing a type clash as CommandError(kConflict) with `hint`
// (e.g. "observe records into histograms") appended.
template <class Register>
auto RegisterOrExplain(Register&& register_fn, const char* hint) {
  try {
    return register_fn();
  } catch (const Error& e) {
    if (e.code() != Errc::kTypeMismatch) throw;
    throw CommandError(Exit::kConflict, std::string(e.what()) + ": " + hint);
  }
}

}  // namespace shmstats::statsctl
