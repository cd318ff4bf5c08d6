// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <stdexcept>
#include <string>

namespace shmstats {

// What went wrong, for callers that branch on the cause (statsctl maps these to
// exit statuses). The message of the Error always says more.
enum class Errc {
  kInvalidArgument,  // a name, label, bound or option that breaks the rules
  kNotFound,         // no such segment or metric
  kAlreadyExists,    // Create on a name that is taken
  kTypeMismatch,     // metric registered before with another type or bucket layout
  kFull,             // the segment has no room for another metric or its slots
  kIncompatible,     // a segment of another format version, or not a shmstats segment
  kCorrupt,          // the segment's bytes break the format's invariants
  kPermission,       // the operating system refused access
  kTimeout,          // a segment that never finished initialising
  kSystem,           // any other operating-system failure
};

// The one exception type the library throws. Only set-up calls throw it (open,
// create, register, snapshot, reset); recording never throws.
class Error : public std::runtime_error {
 public:
  Error(Errc code, const std::string& message) : std::runtime_error(message), code_(code) {}
  Errc code() const noexcept { return code_; }

 private:
  Errc code_;
};

}  // namespace shmstats
