// SPDX-License-Identifier: Apache-2.0
#pragma once

// The dashboard page served at GET / (daemon/dashboard.html, embedded at build
// time): the segment's series with live values from /stats, searchable, and a
// chart of any series' history from /stats/history, drawn as inline SVG by the
// page's own script. Nothing is fetched from elsewhere (kDashboardCsp forbids it)
// and nothing on the page writes to the segment.
//
// Independent of the HTTP library: the server sends DashboardPage() with
// kDashboardContentType and the kDashboardCsp header.

#include <string_view>

namespace shmstats::daemon {

std::string_view DashboardPage();

inline constexpr const char* kDashboardContentType = "text/html; charset=utf-8";
// Only this daemon's own URLs; the page's inline script and style.
inline constexpr const char* kDashboardCsp =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

}  // namespace shmstats::daemon
