// SPDX-License-Identifier: Apache-2.0
#pragma once

// The byte layout of a shmstats segment, format version 3. NOT PUBLIC API: only
// libshm/src (and tests that craft segments) include this file. It must match
// docs/segment-format.md byte for byte.
//
// Regions, in file order (every offset page aligned):
//   header | series index | family index | directory | strings | data (slots)
//   [| exemplars] (absent when Header::exemplar_offset is 0)
//
// Invariants:
//  - The header's magic is stored last (release) when the segment is initialised.
//  - Descriptors, string bytes and slots are handed out by bump cursors in the
//    header (series_used, strings_used, slots_used) that only grow; the pages below
//    a cursor are reserved in tmpfs (fallocate) before the cursor moves past them, so
//    a reader that stays below the cursors never faults in a hole.
//  - A descriptor is private to its claimer until a series-index entry links it; it
//    is fully written (strings, slots, bounds) before the link (release CAS). It is
//    visible to readers once its state is kPublished (release), which its claimer —
//    or, if the claimer died after linking, any registrant of the same key — stores.
//  - A family-index entry is written once, by one CAS from 0, and decides the
//    family's type for the life of the segment.
//  - Every slot is an 8-byte atomic, accessed relaxed (values carry no ordering),
//    except reset totals, which are CASed with release and loaded with acquire before
//    the value they offset.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace shmstats::layout {

using Slot = std::atomic<uint64_t>;

inline constexpr uint64_t kMagic = 0x3153544154534d53ull;  // "SMSTATS1" little-endian
inline constexpr uint32_t kFormatVersion = 4;              // 4: the series index's hot zone
inline constexpr uint32_t kPage = 4096;
inline constexpr uint32_t kHeaderSize = 4096;
inline constexpr uint32_t kDescriptorSize = 128;
inline constexpr uint32_t kCacheLineSlots = 8;
inline constexpr uint32_t kMinIndexEntries = kPage / 8;  // one page per index
inline constexpr uint32_t kMaxMetricsLimit = 1u << 22;
inline constexpr uint32_t kMaxSlotsLimit = 1u << 28;          // 2 GiB of values
inline constexpr uint64_t kMaxStringBytesLimit = 1ull << 32;  // 4 GiB of names and labels

struct Header {
  std::atomic<uint64_t> magic;         //   0: kMagic once initialised (release store)
  uint32_t format_version;             //   8: kFormatVersion
  uint32_t header_size;                //  12: kHeaderSize
  uint32_t descriptor_size;            //  16: kDescriptorSize
  uint32_t max_metrics;                //  20: descriptors in the directory
  uint32_t max_slots;                  //  24: 8-byte slots in the data area
  uint32_t index_entries;              //  28: entries of each index, a power of two
  uint64_t series_index_offset;        //  32: == header_size
  uint64_t family_index_offset;        //  40: series_index_offset + index_entries*8
  uint64_t directory_offset;           //  48: family_index_offset + index_entries*8
  uint64_t strings_offset;             //  56: directory end, page aligned
  uint64_t string_bytes;               //  64: size of the strings area, a page multiple
  uint64_t data_offset;                //  72: strings_offset + string_bytes
  uint64_t total_size;                 //  80: data_offset + max_slots*8, page aligned
  uint64_t created_unix_ns;            //  88
  uint64_t instance_id;                //  96: random, new for every creation
  std::atomic<uint64_t> series_used;   // 104: descriptor cursor (only grows)
  std::atomic<uint64_t> strings_used;  // 112: string cursor in bytes (only grows)
  std::atomic<uint64_t> slots_used;    // 120: slot cursor (only grows)
  std::atomic<uint64_t> refused;       // 128: registrations refused for lack of room
  std::atomic<uint64_t> abandoned;     // 136: descriptors a registrant gave up on
  std::atomic<uint64_t> retired;       // 144: process-scoped series retired (folded) so far
  std::atomic<uint64_t> reused;        // 152: retired descriptors taken again
  std::atomic<uint64_t> reusable;      // 160: hint: retired descriptors not yet reused
  std::atomic<uint64_t> reuse_cursor;  // 168: hint: where the next reuse scan starts
  // Series lifecycle (docs/segment-format.md, "Deleted series" and "Family limits").
  uint64_t family_table_offset;       // 176: the family table after the data area; 0: absent
  uint32_t family_limit;              // 184: default series per family; 0: no limit
  uint32_t reserved_life0;            // 188
  std::atomic<uint64_t> deleted;      // 192: series deleted so far (only grows)
  std::atomic<uint64_t> revived;      // 200: deleted series registered again (only grows)
  std::atomic<uint64_t> overflowed;   // 208: registrations sent to an overflow series
  std::atomic<uint64_t> refilled;     // 216: deleted descriptors given to another key
  std::atomic<uint64_t> reuse_flags;  // 224: kReuse* bits (reuse.h)
  uint64_t prepared_bytes;            // 232: cursor regions' first bytes prepared (segment.cc)
  uint8_t reserved_240[32];           // 240: zero
  // The producer table (region after the data area; 0: a segment made without one).
  uint64_t producer_table_offset;           // 272: where GeometryFor puts it, or 0: absent
  uint32_t producer_capacity;               // 280: records in the table
  uint32_t producer_record_size;            // 284: kProducerRecordSize
  std::atomic<uint64_t> producers_used;     // 288: record cursor (only grows, clamp to capacity)
  std::atomic<uint64_t> producers_refused;  // 296: producers left without a record (table full)
  std::atomic<uint64_t> producers_reused;   // 304: records of exited producers taken again
  uint8_t reserved312[24];                  // 312: zero
  // The exemplar region (ExemplarRecord), after the data area; 0: absent.
  uint64_t exemplar_offset;                 // 336: where GeometryFor puts it, or 0
  uint32_t exemplar_records;                // 344: records in the region
  uint32_t exemplar_record_size;            // 348: kExemplarRecordSize
  std::atomic<uint64_t> exemplars_used;     // 352: record cursor (only grows)
  std::atomic<uint64_t> exemplars_refused;  // 360: exemplars not stored for lack of records
  uint8_t reserved_368[16];                 // 368
};

// Descriptor state word: top two bits are the state, the low 62 bits the key hash.
enum : uint64_t {
  kFree = 0,
  kClaimed = 1ull << 62,
  kPublished = 2ull << 62,
  kAbandoned = 3ull << 62,
  kStateMask = 3ull << 62,
  kHashMask = ~kStateMask,
};

// A series-index entry: 0 free; else the key hash's bits 30..61 (a tag that spares
// a descriptor read on most mismatches) above descriptor index + 1.
inline constexpr uint64_t IndexEntry(uint64_t key_hash, uint32_t descriptor) {
  return ((key_hash >> 30) << 32) | (uint64_t{descriptor} + 1);
}
inline constexpr uint32_t IndexTag(uint64_t key_hash) {
  return static_cast<uint32_t>(key_hash >> 30);
}
// The series index's probe sequence for a key hash (docs/segment-format.md, "Series
// index"). An index of more than kHotEntries entries has a hot zone, its first
// kHotEntries (64 KiB, which a process maps in a page fault or two and the cache
// keeps): kHotProbes entries there from hash & (kHotEntries - 1), then every entry
// after the hot zone, linearly (wrapping within them) from a start the hash's low 32
// bits pick. A smaller index is probed linearly from hash & (entries - 1). Inserts and
// lookups walk the same sequence, and no entry becomes free again: a free entry ends
// it. `entries` is a power of two.
inline constexpr uint32_t kHotEntries = 8192;
inline constexpr uint32_t kHotProbes = 8;
inline constexpr uint32_t ProbeLength(uint32_t entries) {
  return entries <= kHotEntries ? entries : kHotProbes + (entries - kHotEntries);
}
// REQUIRES: k < ProbeLength(entries).
inline constexpr uint32_t Probe(uint64_t key_hash, uint32_t k, uint32_t entries) {
  if (entries <= kHotEntries) return static_cast<uint32_t>((key_hash + k) & (entries - 1));
  if (k < kHotProbes) return static_cast<uint32_t>((key_hash + k) & (kHotEntries - 1));
  const uint32_t rest = entries - kHotEntries;
  const auto start = static_cast<uint32_t>(((key_hash & 0xffffffffu) * rest) >> 32);
  const uint32_t j = start + (k - kHotProbes);  // < 2 * rest
  return kHotEntries + (j >= rest ? j - rest : j);
}

// A family-index entry: 0 free; else the metric type (1..3) in the top two bits
// above the 62-bit hash of the family name.
inline constexpr uint64_t FamilyEntry(uint64_t family_hash, uint8_t type) {
  return (uint64_t{type} << 62) | (family_hash & kHashMask);
}

// Scope of a descriptor (Descriptor::scope).
enum Scope : uint8_t { kScopeShared = 0, kScopeProcess = 1 };

// A process-scoped descriptor's life word: bits 0..2 the phase, bits 3..31 the pid
// of the process that last changed it (folder or reuser; 0 for the owner's own
// claim), bits 32..63 the generation (how many times the descriptor was reused).
// Shared descriptors keep 0.
enum LifePhase : uint64_t {
  kLiveOwned = 1,  // counted by readers (gauges: only while the owner lives)
  kFolding = 2,    // the actor is folding the values into the aggregate series
  kRetired = 3,    // folded (or a gauge dropped): reusable; readers ignore it
  kRefilling = 4,  // the actor is writing a new series into it
};
inline constexpr uint64_t kPhaseMask = 7;
inline constexpr uint64_t Life(uint64_t generation, uint32_t actor, uint64_t phase) {
  return (generation << 32) | (uint64_t{actor & 0x1fffffffu} << 3) | phase;
}
inline constexpr uint64_t LifePhaseOf(uint64_t life) { return life & kPhaseMask; }
inline constexpr uint32_t LifeActor(uint64_t life) {
  return static_cast<uint32_t>(life >> 3) & 0x1fffffffu;
}
inline constexpr uint64_t LifeGeneration(uint64_t life) { return life >> 32; }

// Descriptor::gauge_combine: how readers combine the process-scoped gauges of a
// shared gauge's key into it (shmstats::GaugeCombine in the low bits: 0 sum, with
// the shared series' own value; 1 max, 2 min, 3 most recent: the value of the live
// process series whose slot 1 holds the latest Unix ns), and kGaugeLiveOnly: the
// shared series is shown only while a live process series adds into it. A
// process-scoped gauge carries its aggregate's byte; most recent ones have 2 slots.
inline constexpr uint8_t kGaugeCombineMask = 3;
inline constexpr uint8_t kGaugeLiveOnly = 0x80;
inline constexpr uint8_t kGaugeMostRecent = 3;

// Descriptor::flags. kFlagFloatCounter: a counter whose value and reset total
// slots hold doubles (FloatCounter), not integers; never striped nor process-scoped.
inline constexpr uint8_t kFlagFloatCounter = 1;

enum BucketKind : uint8_t { kNoBuckets = 0, kExplicit = 1, kExponential = 2 };

struct Descriptor {
  std::atomic<uint64_t> state;      //   0: kFree/kClaimed/kPublished/kAbandoned | hash
  std::atomic<uint32_t> owner_pid;  //   8: the claimer, so others can tell it died
  uint8_t type;                     //  12: MetricType
  uint8_t bucket_kind;              //  13: BucketKind
  int8_t schema;                    //  14: exponential only: -4..8
  uint8_t scope;                    //  15: Scope
  uint32_t slot_offset;             //  16: first slot, a multiple of kCacheLineSlots
  uint32_t slot_count;              //  20: slots used by this metric
  uint32_t bucket_count;            //  24: histogram buckets including +Inf
  uint8_t stripes;                  //  28: per-CPU stripes, a power of two; 0 or 1: none
  uint8_t flags;                    //  29: kFlag* bits; 0 for most metrics
  uint16_t reserved0;               //  30
  uint16_t name_len;                //  32
  uint16_t labels_len;              //  34
  uint16_t help_len;                //  36
  uint16_t unit_len;                //  38
  uint64_t strings;                 //  40: name, labels, help, unit at strings_offset + this
  int64_t min_key;                  //  48: exponential only: native index of the first
                                    //      positive bucket
  uint32_t process_pid;             //  56: process scope: the owner; 0 for shared series
  uint32_t fold_target;             //  60: process scope: aggregate's descriptor index + 1
  uint64_t process_start;           //  64: process scope: owner's start time (clock ticks)
  std::atomic<uint64_t> life;       //  72: process scope: Life(); 0 for shared series
  uint32_t string_capacity;         //  80: process scope: string bytes it owns (reuse)
  uint32_t ttl_seconds;             //  84: shared: idle time after which shmstatsd deletes it
  std::atomic<uint64_t> gone;       //  88: shared: the deletion word, Gone(); 0 for most
  uint32_t family_slot;             //  96: family index entry + 1 (its family table entry)
  uint8_t reserved2[4];             // 100
  uint64_t producer;                // 104: ProducerRef of the creating process; 0: unknown
  // Shared counters and histograms: first exemplar record + 1, or 0 before the first
  // exemplar (a counter has one record, a histogram one per bucket). Set once, by a
  // CAS from 0; whoever reuses the descriptor for another series stores 0 first.
  std::atomic<uint32_t> exemplars;  // 112
  uint8_t gauge_combine;            // 116: gauges: GaugeCombine | kGaugeLiveOnly; else 0
  uint8_t reserved3[3];             // 117
  // Shared: when the series was last deleted, in clock ticks of CLOCK_BOOTTIME (the
  // clock of a producer record's `start`), bits 40..63 the deletion's generation;
  // 0 if never stamped. Survives a revival and a refill (read only while deleted).
  std::atomic<uint64_t> deleted_tick;  // 120
};
static_assert(offsetof(Descriptor, deleted_tick) == 120);

// Header::reuse_flags. Deleted rooms go to other keys only in a segment made with
// kReuseRecords (its producer records have the dropped_before word: a segment made by
// an older build never takes part) and without kReuseOff (set, never cleared, when a
// producer attached without its owner lock: its forked children could not be seen).
inline constexpr uint64_t kReuseRecords = 1;
inline constexpr uint64_t kReuseOff = 2;

// A shared descriptor's deletion word (Descriptor::gone): bits 0..1 the phase, bits
// 2..31 the pid of the process that last moved it, bits 32..63 the generation (how
// many times the series was registered again after a delete). 0: never deleted.
enum GonePhase : uint64_t {
  kPresent = 0,        // shown by readers
  kDeleted = 1,        // hidden; its room waits for its key to be registered again
  kReviving = 2,       // the actor is zeroing its values for the key's new registration
  kGoneRefilling = 3,  // the actor is giving the descriptor to another key (reuse.h)
};
inline constexpr uint64_t kGonePhaseMask = 3;
inline constexpr uint64_t Gone(uint64_t generation, uint32_t actor, uint64_t phase) {
  return (generation << 32) | (uint64_t{actor & 0x3fffffffu} << 2) | phase;
}
inline constexpr uint64_t GonePhaseOf(uint64_t gone) { return gone & kGonePhaseMask; }
inline constexpr uint32_t GoneActor(uint64_t gone) {
  return static_cast<uint32_t>(gone >> 2) & 0x3fffffffu;
}
inline constexpr uint64_t GoneGeneration(uint64_t gone) { return gone >> 32; }

// The family table (at Header::family_table_offset when not 0): one entry per
// family-index entry, at the same position, for the family that entry holds.
struct FamilyRecord {
  std::atomic<uint32_t> series;      // 0: series of the family counted against its limit
  std::atomic<uint32_t> limit;       // 4: its own limit (first registration asking one); 0: none
  std::atomic<uint64_t> overflowed;  // 8: registrations sent to its overflow series
};
inline constexpr uint32_t kFamilyEntrySize = 16;

// The producer table: one record per process that registered a series (see
// docs/segment-format.md, "Producer table"). A record's state word: bits 0..1 the
// phase, bits 2..31 the pid of the process that last changed it, bits 32..63 its
// generation (how many times it was taken). A series names its creator by a
// ProducerRef: record index + 1 in bits 0..31, the record's generation above.
inline constexpr uint32_t kProducerRecordSize = 128;
inline constexpr uint32_t kDefaultProducers = 256;
inline constexpr uint32_t kMaxProducersLimit = 1u << 16;
inline constexpr size_t kCommBytes = 16;
inline constexpr size_t kJobBytes = 56;
enum ProducerPhase : uint64_t { kProducerFree = 0, kProducerClaiming = 1, kProducerAttached = 2 };
inline constexpr uint64_t ProducerState(uint64_t generation, uint32_t actor, uint64_t phase) {
  return (generation << 32) | (uint64_t{actor & 0x3fffffffu} << 2) | phase;
}
inline constexpr uint64_t ProducerPhaseOf(uint64_t state) { return state & 3; }
inline constexpr uint32_t ProducerActor(uint64_t state) {
  return static_cast<uint32_t>(state >> 2) & 0x3fffffffu;
}
inline constexpr uint64_t ProducerRef(uint32_t record, uint64_t generation) {
  return (generation << 32) | (uint64_t{record} + 1);
}
// Producer flags.
inline constexpr uint32_t kProducerProcessMetrics = 1;  // shmstatsd may export its /proc figures

struct ProducerRecord {
  std::atomic<uint64_t> state;             //   0: ProducerState()
  uint32_t pid;                            //   8
  uint32_t uid;                            //  12: real uid
  uint64_t start;                          //  16: start time (clock ticks after boot)
  uint64_t attached_unix_ns;               //  24: its first registration
  std::atomic<uint64_t> last_activity_ns;  //  32: written by shmstatsd: the last tick in
                                           //      which one of its series changed
  std::atomic<uint32_t> seq;               //  40: odd while flags and job are rewritten
  std::atomic<uint32_t> flags;             //  44: kProducer* bits
  char comm[kCommBytes];                   //  48: command name, NUL-padded
  char job[kJobBytes];                     //  64: job name (UTF-8), NUL-padded
  // The process holds no handle to a series whose deleted_tick is below this (clock
  // ticks of CLOCK_BOOTTIME); 0: no such promise. Only grows (reuse.h).
  std::atomic<uint64_t> dropped_before;  // 120
};
static_assert(sizeof(ProducerRecord) == kProducerRecordSize);
static_assert(offsetof(ProducerRecord, comm) == 48 && offsetof(ProducerRecord, job) == 64 &&
              offsetof(ProducerRecord, dropped_before) == 120);

// Slots of a metric, from slot_offset (n = bucket_count):
//   counter:   [value u64][reset total u64]
//   gauge:     [value as double bits]
//   histogram: [sum as double bits][count of bucket 0..n-1][finite bound 0..n-2 as
//              doubles][reset total of the sum as double bits][reset total of
//              bucket 0..n-1]
// Striped metrics (stripes >= 2) repeat their recorded values once per stripe, each
// stripe on its own cache lines, stripe s at slot_offset + s * StripeStride(n):
//   counter:   [value][reset total in stripe 0, unused in the others][6 unused]
//   histogram: [sum][count of bucket 0..n-1][unused up to the line] per stripe, then
//              [finite bound 0..n-2][reset total of the sum][reset total of bucket
//              0..n-1] once
// Exponential (native) histograms with n positive buckets have n_buckets = 2n + 3, in
// order: [v < -b(last)][negative buckets, most negative first][zero bucket][positive
// buckets][+Inf]; their finite bounds are those of buckets::ExponentialBounds.
// A metric's raw value is the sum of its stripes' (mod 2^64; the sum's doubles
// added). A counter's or bucket's visible value is raw - reset total (mod 2^64); raw
// itself only ever grows (mod 2^64). Recording never writes a reset total.
inline constexpr uint32_t kCounterSlots = 2;
inline constexpr uint32_t kGaugeSlots = 1;
inline constexpr uint32_t kCounterResetSlot = 1;
inline constexpr uint32_t kMaxStripes = 128;
inline constexpr uint32_t StripeStride(uint32_t bucket_count) {  // 0 buckets: a counter
  return (1 + bucket_count + kCacheLineSlots - 1) / kCacheLineSlots * kCacheLineSlots;
}
inline constexpr bool Striped(uint32_t stripes) { return stripes > 1; }
inline constexpr bool ValidStripes(uint32_t stripes) {
  return stripes <= kMaxStripes && (stripes & (stripes - 1)) == 0;
}
// Where a histogram's bounds start, from slot_offset.
inline constexpr uint32_t BoundsOffset(uint32_t bucket_count, uint32_t stripes) {
  return Striped(stripes) ? stripes * StripeStride(bucket_count) : 1 + bucket_count;
}
// Where a histogram's reset totals start (the sum's, then the buckets'), from slot_offset.
inline constexpr uint32_t HistogramResetBase(uint32_t bucket_count, uint32_t stripes) {
  return BoundsOffset(bucket_count, stripes) + bucket_count - 1;
}
inline constexpr uint32_t HistogramSlots(uint32_t bucket_count, uint32_t stripes) {
  return HistogramResetBase(bucket_count, stripes) + 1 + bucket_count;
}
// Slots a counter (bucket_count 0) or histogram needs.
inline constexpr uint32_t MetricSlots(uint32_t bucket_count, uint32_t stripes) {
  if (bucket_count) return HistogramSlots(bucket_count, stripes);
  return Striped(stripes) ? stripes * StripeStride(0) : kCounterSlots;
}

static_assert(HistogramSlots(3, 1) == 3 * 3 + 1 && HistogramResetBase(3, 1) == 2 * 3);
static_assert(MetricSlots(0, 1) == 2 && MetricSlots(0, 4) == 32 && StripeStride(0) == 8);
static_assert(StripeStride(7) == 8 && StripeStride(8) == 16);
static_assert(BoundsOffset(8, 2) == 32 && HistogramResetBase(8, 2) == 39 &&
              HistogramSlots(8, 2) == 48);

// One exemplar (OpenMetrics): a label set of at most kMaxExemplarRunes UTF-8
// characters, a value and a timestamp. A seqlock: `seq` is odd while a writer
// writes, and readers copy the record between two equal even loads of it (0: never
// written). Writers take `writer` (their pid, by a CAS from 0) first; a writer that
// finds it held by a dead process takes it over, one that finds a live holder drops
// its exemplar (another one is being stored at that instant). Every field is an
// 8-byte atomic, so that a reader racing a writer copies bytes without a data race.
// labels: label_bytes bytes of name NUL value NUL pairs, in the order given.
inline constexpr uint32_t kExemplarRecordSize = 576;
inline constexpr uint32_t kMaxExemplarRunes = 128;
inline constexpr uint32_t kExemplarLabelWords = (kExemplarRecordSize - 40) / 8;
inline constexpr uint32_t kMaxExemplarRecordsLimit = 1u << 22;
struct ExemplarRecord {
  std::atomic<uint64_t> seq;          //  0: even: stable (0: empty); odd: being written
  std::atomic<uint64_t> writer;       //  8: pid of the writer holding it, or 0
  std::atomic<uint64_t> value;        // 16: double bits
  std::atomic<uint64_t> timestamp;    // 24: Unix seconds as double bits
  std::atomic<uint64_t> label_bytes;  // 32: bytes used in labels
  std::atomic<uint64_t> labels[kExemplarLabelWords];  // 40
};
static_assert(sizeof(ExemplarRecord) == kExemplarRecordSize);

static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(std::atomic<uint32_t>::is_always_lock_free);
static_assert(std::is_standard_layout_v<Header> && std::is_standard_layout_v<Descriptor>);
static_assert(sizeof(Header) == 384 && sizeof(Header) <= kHeaderSize);
static_assert(offsetof(Header, family_table_offset) == 176 && offsetof(Header, deleted) == 192 &&
              offsetof(Header, overflowed) == 208);
static_assert(offsetof(Header, exemplar_offset) == 336 && offsetof(Header, exemplars_used) == 352);
static_assert(offsetof(Descriptor, ttl_seconds) == 84 && offsetof(Descriptor, gone) == 88 &&
              offsetof(Descriptor, family_slot) == 96);
static_assert(offsetof(Descriptor, exemplars) == 112 && offsetof(Descriptor, gauge_combine) == 116);
static_assert(sizeof(FamilyRecord) == kFamilyEntrySize);
static_assert(offsetof(Header, producer_table_offset) == 272 &&
              offsetof(Header, producers_reused) == 304);
static_assert(offsetof(Header, retired) == 144 && offsetof(Header, reuse_cursor) == 168);
static_assert(offsetof(Header, series_used) == 104 && offsetof(Header, abandoned) == 136);
static_assert(sizeof(Descriptor) == kDescriptorSize && kPage % kDescriptorSize == 0);
static_assert(offsetof(Descriptor, slot_offset) == 16 && offsetof(Descriptor, stripes) == 28);
static_assert(offsetof(Descriptor, name_len) == 32 && offsetof(Descriptor, strings) == 40);
static_assert(offsetof(Descriptor, min_key) == 48 && offsetof(Descriptor, process_start) == 64);
static_assert(offsetof(Descriptor, fold_target) == 60 && offsetof(Descriptor, life) == 72 &&
              offsetof(Descriptor, string_capacity) == 80);
static_assert(offsetof(Descriptor, ttl_seconds) == 84 && offsetof(Descriptor, gone) == 88 &&
              offsetof(Descriptor, family_slot) == 96);
static_assert(offsetof(Descriptor, producer) == 104);
static_assert(sizeof(Slot) == 8 && alignof(Slot) == 8);

}  // namespace shmstats::layout
