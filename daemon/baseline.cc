// SPDX-License-Identifier: Apache-2.0
#include "daemon/baseline.h"

#include "daemon/byte_codec.h"
#include "daemon/feed/spool.h"
#include "daemon/state_files.h"

namespace shmstats::daemon {
namespace {

constexpr std::string_view kMagic = "SHMBAS1\n";

}  // namespace

void SaveBaseline(const std::string& path, const AggregatorState& state,
                  const history::TickRecord& record) {
  ByteWriter w;
  w.Int(state.instance_id);
  w.Int(state.last_ms);
  w.Int(static_cast<uint32_t>(state.series.size()));
  for (const AggregatorState::Series& s : state.series) {
    w.Int(s.index);
    w.Int(s.identity);
    w.Int(s.counter);
    w.Double(s.sum);
    w.Int(static_cast<uint32_t>(s.counts.size()));
    for (uint64_t c : s.counts) w.Int(c);
  }
  w.Str(EncodeTick(record));
  AtomicFile file(path);
  file.Write(Frame(kMagic, w.out));
  file.Commit();
}

std::optional<Baseline> LoadBaseline(const std::string& path) {
  const std::string bytes = ReadFileNoFollow(path);
  const std::optional<std::string_view> payload = Unframe(kMagic, bytes);
  if (!payload) return std::nullopt;
  ByteReader r(*payload);
  Baseline b;
  b.state.instance_id = r.Int<uint64_t>();
  b.state.last_ms = r.Int<int64_t>();
  const uint32_t n = r.Count(32);  // index, identity, counter, sum, bucket count
  b.state.series.reserve(n);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    AggregatorState::Series& s = b.state.series.emplace_back();
    s.index = r.Int<uint32_t>();
    s.identity = r.Int<uint64_t>();
    s.counter = r.Int<uint64_t>();
    s.sum = r.Double();
    for (uint32_t c = r.Count(8); c > 0 && r.ok(); --c) s.counts.push_back(r.Int<uint64_t>());
  }
  std::optional<history::TickRecord> record = DecodeTick(r.Str());
  if (!r.done() || !record || b.state.last_ms == 0) return std::nullopt;
  b.record = std::move(*record);
  return b;
}

}  // namespace shmstats::daemon
