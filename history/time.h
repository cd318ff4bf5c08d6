// SPDX-License-Identifier: Apache-2.0
#pragma once

// Time bounds and steps of history queries. Everything a user types goes through
// these parsers; nothing they accept is pasted into SQL (values are bound).

#include <cstdint>
#include <string>
#include <string_view>

namespace shmstats::history {

// The step allowlist: 1m, 5m, 15m, 1h, 6h, 1d. Returns milliseconds.
// Throws shmstats::Error(kInvalidArgument) for anything else.
int64_t ParseStep(std::string_view text);

// A PromQL duration: NUMBER UNIT, units ms s m h d w y, combined largest first
// ("90s", "1h30m", "1d12h"); at most 100 years. Returns milliseconds. Throws
// shmstats::Error(kInvalidArgument) naming the accepted forms.
int64_t ParseDuration(std::string_view text);

// "now"; relative: "-" and a duration, "-90s", "-15m", "-1h30m", "-7d", "-2w" (also
// "now-1h30m"); or RFC 3339
// "2026-11-21T19:00:00Z", "2026-11-21T19:00:00.5+01:00" (a space may replace the T).
// Returns Unix milliseconds. Throws shmstats::Error(kInvalidArgument) naming the
// accepted forms.
int64_t ParseTime(std::string_view text, int64_t now_ms);

// "2026-11-21T19:00:00Z" (milliseconds shown only when not zero).
std::string FormatRfc3339(int64_t unix_ms);

int64_t NowMs();

}  // namespace shmstats::history
