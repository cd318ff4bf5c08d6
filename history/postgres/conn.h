// SPDX-License-Identifier: Apache-2.0
#pragma once

// One libpq connection driven with the asynchronous API (PQconnectStart and
// PQconnectPoll, PQsendQueryParams, PQconsumeInput, poll(2)), so that no call waits
// longer than its deadline: a server that stops answering (frozen, a dropped link)
// costs the caller at most the deadline, never a hung thread. A call past its
// deadline, or stopped by the stop function, abandons the connection: every later
// call throws, and the owner opens a new one. (No cancel request is sent: libpq's
// PQcancel waits for the server's answer, which a frozen server never gives; the
// server rolls back the open transaction when it sees the connection closed.)
//
// Every value goes in as a bound text parameter: nothing a user typed is pasted
// into SQL. A host name in the URL is resolved by libpq before the deadline
// applies; give an address (hostaddr=) or a socket directory for a strict bound.
//
// Thread-safety: one thread at a time. Errors: StoreError, kUnavailable with
// libpq's message (or "no answer within N ms"), kInterrupted when stopped.

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "history/store.h"

namespace shmstats::history {

// A query's result; owns the PGresult.
class PgResult {
 public:
  explicit PgResult(PGresult* r) : r_(r) {}
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  ~PgResult() { PQclear(r_); }
  int Rows() const { return PQntuples(r_); }
  bool Null(int row, int col) const { return PQgetisnull(r_, row, col); }
  std::string_view Text(int row, int col) const {
    return {PQgetvalue(r_, row, col), static_cast<size_t>(PQgetlength(r_, row, col))};
  }
  int64_t Int(int row, int col) const;
  double Double(int row, int col) const;

 private:
  PGresult* r_;
};

class PgConn {
 public:
  using Clock = std::chrono::steady_clock;
  // Connects within `timeout_ms` (> 0).
  PgConn(const std::string& url, int64_t timeout_ms);
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;
  ~PgConn();

  // Runs one statement with its parameters, answered before the deadline (see
  // SetDeadline; none by default).
  std::unique_ptr<PgResult> Exec(const std::string& sql,
                                 const std::vector<std::string>& params = {});
  // Statements run from now on must be answered by `deadline`; Clock::time_point::max()
  // lifts it.
  void SetDeadline(Clock::time_point deadline) { deadline_ = deadline; }
  // Polled every 100 ms while a statement waits; true stops it (kInterrupted).
  void SetStop(std::function<bool()> stop) { stop_ = std::move(stop); }
  int64_t timeout_ms() const { return timeout_ms_; }

 private:
  // Waits until the socket is ready for `events` (POLLIN/POLLOUT); returns the
  // events seen. Throws (and abandons the connection) past the deadline or when stopped.
  short Wait(short events, Clock::time_point deadline, const char* what);
  [[noreturn]] void Fail(const std::string& message, StoreError::Kind kind);

  PGconn* conn_ = nullptr;
  int64_t timeout_ms_;
  Clock::time_point deadline_ = Clock::time_point::max();
  std::function<bool()> stop_;
  bool abandoned_ = false;
};

// bytea as PostgreSQL's hex text ("\x0102...") and back.
std::string PgHex(std::string_view bytes);
std::string PgUnhex(std::string_view text);
// A double as float8 text that reads back as the same double (NaN, ±Infinity, -0).
std::string PgFloat(double v);

}  // namespace shmstats::history
