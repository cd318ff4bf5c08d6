// SPDX-License-Identifier: Apache-2.0
#pragma once

// Syslog priorities on log lines, for journald: when stderr is the journal
// ($JOURNAL_STREAM names stderr's device and inode, see sd-daemon(3) and
// systemd.exec(5)), each line starts with "<N>" (3 error, 4 warning, 6 info), which
// journald strips and keeps as the priority, so `journalctl -p err` finds errors.
//
// Thread-safety: any thread.

namespace shmstats::daemon {

// "<3>" for "error", "<4>" for "warning", "<6>" otherwise, when stderr is the
// journal; "" when it is not (a terminal or a file keeps plain lines).
const char* JournalPrefix(const char* level);

}  // namespace shmstats::daemon
