// SPDX-License-Identifier: Apache-2.0
#pragma once

// A read of the mapped segment that survives the segment being truncated under it.
// Any member of the segment's group may shrink the file; a page of the mapping that
// is gone then raises SIGBUS on the reading thread, between the reader's size check
// and its loads. ReadMapped turns that into an Error the reader already handles.
//
// The read is abandoned where it faulted: what it had allocated so far is leaked
// (a snapshot's worth, once per truncation that lands inside a read), and it must
// hold no lock of its own across the segment's pages (Segment's readers hold none).
//
// Thread-safety: any thread; the SIGBUS handler is installed once, process-wide, and
// passes a fault outside ReadMapped on to the default action (the process dies).

#include <functional>
#include <string>

namespace shmstats::daemon {

// Runs `read`. Throws shmstats::Error(kCorrupt) naming `segment` if it faulted on a
// page cut off the mapping; exceptions of `read` pass through.
void ReadMapped(const std::string& segment, const std::function<void()>& read);

}  // namespace shmstats::daemon
