#include "command.h"

namespace shmstats::statsctl {

Exit ExitFor(Errc code) {
  switch (code) {
    case Errc::kInvalidArgument:
      return Exit::kUsage;
    case Errc::kNotFound:  // the library's only "not found" is a missing segment
    case Errc::kIncompatible:
    case Errc::kCorrupt:
    case Errc::kPermission:
    case Errc::kTimeout:
      return Exit::kSegment;
    case Errc::kFull:
      return Exit::kFull;
    case Errc::kAlreadyExists:
    case Errc::kTypeMismatch:
      return Exit::kConflict;
    case Errc::kSystem:
      return Exit::kSystem;
  }
  return Exit::kSystem;
}

}  // namespace shmstats::statsctl
