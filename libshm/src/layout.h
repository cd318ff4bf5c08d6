#pragma once

// The byte layout of a shmstats segment. NOT PUBLIC API: only libshm/src includes
// this file. It must match docs/segment-format.md byte for byte.
//
// Invariants:
//  - The header's magic is stored last (release) when the segment is initialised;
//    a segment whose magic is not kMagic is not (yet) a segment.
//  - A descriptor is usable only while its state is kPublished; the publisher fills
//    every field before it CASes kClaimed -> kPublished (release), and never writes
//    it again. Readers load the state with acquire and re-validate every field.
//  - Descriptors are never freed: an abandoned claim becomes a tombstone, which keeps
//    the open-addressing probe chains intact.
//  - Value slots are allocated by CAS on Header::slots_used, in whole cache lines,
//    and never freed. A metric's slots start on their own 64-byte line.
//  - Every slot is an 8-byte atomic, accessed relaxed (values carry no ordering).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace shmstats::layout {

using Slot = std::atomic<uint64_t>;

inline constexpr uint64_t kMagic = 0x3153544154534d53ull;  // "SMSTATS1" little-endian
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr uint32_t kHeaderSize = 4096;
inline constexpr uint32_t kDescriptorSize = 768;
inline constexpr uint32_t kCacheLineSlots = 8;
inline constexpr uint32_t kMaxMetricsLimit = 1u << 20;
inline constexpr uint32_t kMaxSlotsLimit = 1u << 28;  // 2 GiB of values

struct Header {
  std::atomic<uint64_t> magic;  //  0: kMagic once initialised (release store)
  uint32_t format_version;      //  8
  uint32_t header_size;         // 12: kHeaderSize
  uint32_t descriptor_size;     // 16: kDescriptorSize
  uint32_t max_metrics;         // 20: descriptors in the directory
  uint32_t max_slots;           // 24: 8-byte slots in the data area
  uint32_t reserved0;           // 28
  uint64_t directory_offset;    // 32: == header_size
  uint64_t data_offset;         // 40: directory_offset + max_metrics*descriptor_size, page aligned
  uint64_t total_size;          // 48: data_offset + max_slots*8
  uint64_t created_unix_ns;     // 56
  uint64_t instance_id;         // 64: random, new for every creation
  std::atomic<uint64_t> slots_used;  // 72: allocation cursor, in slots
  std::atomic<uint64_t> refused;     // 80: registrations refused for lack of room
  std::atomic<uint64_t> abandoned;   // 88: claims abandoned after their owner died
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

enum BucketKind : uint8_t { kNoBuckets = 0, kExplicit = 1, kExponential = 2 };

struct Descriptor {
  std::atomic<uint64_t> state;      //   0: kFree/kClaimed/kPublished/kAbandoned | hash
  std::atomic<uint32_t> owner_pid;  //   8: the claimer, so others can tell it died
  uint8_t type;                     //  12: MetricType
  uint8_t bucket_kind;              //  13: BucketKind
  uint8_t precision_bits;           //  14: exponential only
  uint8_t stripes;                  //  15: per-CPU stripes, a power of two; 0 or 1: none
  uint32_t slot_offset;             //  16: first slot, a multiple of kCacheLineSlots
  uint32_t slot_count;              //  20: slots used by this metric
  uint32_t bucket_count;            //  24: histogram buckets including +Inf
  uint16_t name_len;                //  28
  uint16_t labels_len;              //  30
  uint16_t help_len;                //  32
  uint16_t unit_len;                //  34
  uint32_t reserved1;               //  36
  int64_t min_key;                  //  40: exponential only: key of bucket 0
  uint8_t reserved2[16];            //  48
  char name[128];                   //  64
  char labels[320];                 // 192: name\0value\0 pairs, sorted by name
  char help[224];                   // 512
  char unit[32];                    // 736
};

// Slots of a metric, from slot_offset:
//   counter:   [value u64]
//   gauge:     [value as double bits]
//   histogram: [sum as double bits][count of bucket 0..bucket_count-1]
//              [finite bound 0..bucket_count-2 as doubles]
inline constexpr uint32_t HistogramSlots(uint32_t bucket_count) { return 2 * bucket_count; }

// Striped metrics (stripes >= 2) repeat their values once per stripe, each stripe
// starting on its own cache line, stripe s at slot_offset + s * StripeStride:
//   counter:   [value][7 unused] per stripe
//   histogram: [sum][count of bucket 0..bucket_count-1][unused up to the line] per
//              stripe, then [finite bound 0..bucket_count-2] once
// A reader sums the stripes. Unstriped metrics keep the layout above.
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
// Slots a counter (bucket_count 0) or histogram needs.
inline constexpr uint32_t MetricSlots(uint32_t bucket_count, uint32_t stripes) {
  if (!Striped(stripes)) return bucket_count ? HistogramSlots(bucket_count) : 1;
  return BoundsOffset(bucket_count, stripes) + (bucket_count ? bucket_count - 1 : 0);
}

static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(std::atomic<uint32_t>::is_always_lock_free);
static_assert(std::is_standard_layout_v<Header> && std::is_standard_layout_v<Descriptor>);
static_assert(sizeof(Header) == 96 && sizeof(Header) <= kHeaderSize);
static_assert(offsetof(Header, slots_used) == 72 && offsetof(Header, abandoned) == 88);
static_assert(sizeof(Descriptor) == kDescriptorSize && kDescriptorSize % 64 == 0);
static_assert(offsetof(Descriptor, slot_offset) == 16 && offsetof(Descriptor, min_key) == 40);
static_assert(offsetof(Descriptor, name) == 64 && offsetof(Descriptor, labels) == 192);
static_assert(offsetof(Descriptor, help) == 512 && offsetof(Descriptor, unit) == 736);
static_assert(sizeof(Slot) == 8 && alignof(Slot) == 8);

}  // namespace shmstats::layout
