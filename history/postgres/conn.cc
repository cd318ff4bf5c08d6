// SPDX-License-Identifier: Apache-2.0
#include "history/postgres/conn.h"

#include <fmt/format.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace shmstats::history {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

int64_t PgResult::Int(int row, int col) const {
  return std::strtoll(PQgetvalue(r_, row, col), nullptr, 10);
}

double PgResult::Double(int row, int col) const {
  return std::strtod(PQgetvalue(r_, row, col), nullptr);  // also NaN, Infinity, -Infinity
}

PgConn::PgConn(const std::string& url, int64_t timeout_ms) : timeout_ms_(timeout_ms) {
  conn_ = PQconnectStart(url.c_str());
  if (!conn_) Fail("out of memory", StoreError::Kind::kUnavailable);
  if (PQstatus(conn_) == CONNECTION_BAD)
    Fail(PQerrorMessage(conn_), StoreError::Kind::kUnavailable);
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms_);
  // As libpq asks: start as if the last poll said "writing".
  PostgresPollingStatusType status = PGRES_POLLING_WRITING;
  while (status != PGRES_POLLING_OK) {
    if (status == PGRES_POLLING_FAILED) {
      Fail(PQerrorMessage(conn_), StoreError::Kind::kUnavailable);
    }
    Wait(status == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline, "to the connection");
    status = PQconnectPoll(conn_);
  }
  // Sending never waits either: the socket's buffer full is a wait with a deadline.
  PQsetnonblocking(conn_, 1);
  // NOTICEs ("relation ... already exists, skipping") are not errors: libpq's
  // default prints them on stderr, which is the daemon's log.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
}

PgConn::~PgConn() {
  if (conn_) PQfinish(conn_);  // non-blocking: a Terminate message at most
}

void PgConn::Fail(const std::string& message, StoreError::Kind kind) {
  throw StoreError(kind, fmt::format("PostgreSQL: {}", Trim(message)));
}

short PgConn::Wait(short events, Clock::time_point deadline, const char* what) {
  for (;;) {
    if (stop_ && stop_()) {
      abandoned_ = true;
      Fail("stopped by the caller", StoreError::Kind::kInterrupted);
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      abandoned_ = true;
      Fail(fmt::format("no answer {} within {} ms; connection abandoned", what, timeout_ms_),
           StoreError::Kind::kUnavailable);
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
    pollfd p{PQsocket(conn_), events, 0};
    if (p.fd < 0) Fail("the connection has no socket", StoreError::Kind::kUnavailable);
    int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 100)));
    if (n < 0 && errno != EINTR) Fail("poll failed", StoreError::Kind::kUnavailable);
    if (n > 0) return p.revents;
  }
}

std::unique_ptr<PgResult> PgConn::Exec(const std::string& sql,
                                       const std::vector<std::string>& params) {
  if (abandoned_) Fail("the connection was abandoned", StoreError::Kind::kUnavailable);
  const auto deadline = deadline_;
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  if (!PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                         values.data(), nullptr, nullptr, 0)) {
    abandoned_ = true;
    Fail(PQerrorMessage(conn_), StoreError::Kind::kUnavailable);
  }
  // Flush what libpq could not send at once (a large tick), reading meanwhile as it asks.
  for (;;) {
    int f = PQflush(conn_);
    if (f == 0) break;
    if (f < 0) {
      abandoned_ = true;
      Fail(PQerrorMessage(conn_), StoreError::Kind::kUnavailable);
    }
    if ((Wait(POLLIN | POLLOUT, deadline, "to a statement") & POLLIN) && !PQconsumeInput(conn_)) {
      abandoned_ = true;
      Fail(PQerrorMessage(conn_), StoreError::Kind::kUnavailable);
    }
  }
  PGresult* kept = nullptr;
  std::string error;
  for (;;) {
    while (PQisBusy(conn_)) {
      Wait(POLLIN, deadline, "to a statement");
      if (!PQconsumeInput(conn_)) {
        PQclear(kept);
        abandoned_ = true;
        Fail(PQerrorMessage(conn_), StoreError::Kind::kUnavailable);
      }
    }
    PGresult* r = PQgetResult(conn_);
    if (!r) break;
    auto status = PQresultStatus(r);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && error.empty()) {
      error = PQresultErrorMessage(r);
    }
    if (!kept) {
      kept = r;
    } else {
      PQclear(r);
    }
  }
  if (!error.empty() || !kept) {
    PQclear(kept);
    Fail(error.empty() ? std::string("no result") : error, StoreError::Kind::kUnavailable);
  }
  return std::make_unique<PgResult>(kept);
}

std::string PgHex(std::string_view bytes) {
  std::string out = "\\x";
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

std::string PgUnhex(std::string_view text) {
  std::string out;
  if (text.substr(0, 2) != "\\x") return out;
  auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (size_t i = 2; i + 1 < text.size(); i += 2) {
    out += static_cast<char>(nibble(text[i]) << 4 | nibble(text[i + 1]));
  }
  return out;
}

std::string PgFloat(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return fmt::format("{}", v);  // shortest text that reads back as the same double
}

}  // namespace shmstats::history
