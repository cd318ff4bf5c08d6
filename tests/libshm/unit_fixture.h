// SPDX-License-Identifier: Apache-2.0
#pragma once

// Shared helpers of the in-process unit tests: unique segment names, a fixture that
// owns a small segment and removes it, raw access to the segment file's bytes (to
// craft corrupt segments with layout.h offsets), and error expectations.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "layout.h"
#include "shmstats/shmstats.h"

namespace shmstats {

// Lets GoogleTest print error codes by name.
inline void PrintTo(Errc code, std::ostream* os) {
  static constexpr const char* kNames[] = {
      "kInvalidArgument", "kNotFound", "kAlreadyExists", "kTypeMismatch", "kFull",
      "kIncompatible",    "kCorrupt",  "kPermission",    "kTimeout",      "kSystem"};
  *os << kNames[static_cast<int>(code)];
}

namespace testing_util {

// "unit-<suite>-<test>-<pid><suffix>", with characters a segment name refuses
// (parameterised tests contain '/') replaced by '_'.
inline std::string UniqueSegmentName(std::string_view suffix = "") {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = "unit-";
  name += info ? std::string(info->test_suite_name()) + "-" + info->name() : "nontest";
  name += "-" + std::to_string(getpid());
  name += suffix;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  return name;
}

inline std::string ShmPath(std::string_view name) { return "/dev/shm/" + std::string(name); }

// Removes a segment name when it goes out of scope, whatever the test did.
class ScopedSegmentName {
 public:
  explicit ScopedSegmentName(std::string_view suffix = "") : name_(UniqueSegmentName(suffix)) {
    unlink(ShmPath(name_).c_str());
  }
  ~ScopedSegmentName() { unlink(ShmPath(name_).c_str()); }
  ScopedSegmentName(const ScopedSegmentName&) = delete;
  ScopedSegmentName& operator=(const ScopedSegmentName&) = delete;
  const std::string& name() const { return name_; }
  std::string path() const { return ShmPath(name_); }

 private:
  std::string name_;
};

// A MetricSpec without designated initialisers (g++ 12 warns about the fields they
// leave out).
inline MetricSpec Spec(std::string name, Labels labels = {}, std::string help = "",
                       std::string unit = "") {
  return MetricSpec{std::move(name), std::move(labels), std::move(help), std::move(unit)};
}

inline SegmentOptions Options(uint32_t max_metrics, uint32_t max_slots) {
  SegmentOptions o;
  o.max_metrics = max_metrics;
  o.max_slots = max_slots;
  return o;
}

inline SegmentOptions SmallOptions() {
  SegmentOptions o;
  o.max_metrics = 32;
  o.max_slots = 1024;
  return o;
}

// A fixture owning a freshly created small segment named after the test.
class SegmentFixture : public ::testing::Test {
 protected:
  SegmentFixture() : segment_(Segment::Create(name_.name(), SmallOptions())) {}

  // Replaces the segment with a new one created with `options`.
  void Recreate(const SegmentOptions& options) {
    Segment::Remove(name_.name());
    segment_ = Segment::Create(name_.name(), options);
  }
  const std::string& name() const { return name_.name(); }
  std::string path() const { return name_.path(); }

  // The one metric named `metric` in a fresh snapshot; fails the test if absent.
  MetricSnapshot Find(std::string_view metric, const Labels& labels = {}) const {
    Snapshot snap = segment_.Read();
    for (MetricSnapshot& m : snap.metrics)
      if (m.name == metric && m.labels == labels) return std::move(m);
    ADD_FAILURE() << "metric " << metric << " not in the snapshot";
    return {};
  }

  ScopedSegmentName name_;
  Segment segment_;
};

// Runs f, which must throw shmstats::Error with `code`; returns the message (empty
// and a test failure otherwise).
inline std::string ErrorOf(const std::function<void()>& f, Errc code) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_STRNE(e.what(), "");
    return e.what();
  }
  ADD_FAILURE() << "no shmstats::Error thrown";
  return {};
}

// The bytes of a file.
inline std::vector<char> ReadBytes(const std::string& path) {
  std::vector<char> bytes;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("open " + path + ": " + strerror(errno));
  struct stat st {};
  fstat(fd, &st);
  bytes.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  close(fd);
  if (done != bytes.size()) throw std::runtime_error("short read of " + path);
  return bytes;
}

// Replaces the contents of a file (created with mode 0600 if missing).
inline void WriteBytes(const std::string& path, const std::vector<char>& bytes) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("open " + path + ": " + strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  close(fd);
  if (done != bytes.size()) throw std::runtime_error("short write of " + path);
}

// Typed access to a little-endian field at a byte offset of a segment image.
template <class T>
T Peek(const std::vector<char>& bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}
template <class T>
void Poke(std::vector<char>& bytes, size_t offset, T value) {
  std::memcpy(bytes.data() + offset, &value, sizeof value);
}

// Byte offset of descriptor `index`, and of a field inside it (pass the field's
// offsetof(layout::Descriptor, ...)), in a segment of at most 256 metrics (whose
// indexes have the minimum size).
inline size_t DescriptorOffset(uint32_t index, size_t field = 0) {
  return layout::kHeaderSize + 2 * size_t{layout::kMinIndexEntries} * 8 +
         size_t{index} * layout::kDescriptorSize + field;
}

// Byte offset of the strings (name, labels, help, unit) of descriptor `index`, plus
// `k`, in an image whose header and descriptor are intact.
inline size_t StringOffset(const std::vector<char>& bytes, uint32_t index, size_t k = 0) {
  return Peek<uint64_t>(bytes, offsetof(layout::Header, strings_offset)) +
         Peek<uint64_t>(bytes, DescriptorOffset(index, offsetof(layout::Descriptor, strings))) + k;
}

// Copies descriptor `from` to the first descriptor above the series cursor and moves
// the cursor over it; returns the copy's index.
inline uint32_t AppendDescriptorCopy(std::vector<char>& bytes, uint32_t from) {
  const size_t cursor = offsetof(layout::Header, series_used);
  auto to = static_cast<uint32_t>(Peek<uint64_t>(bytes, cursor));
  std::copy_n(bytes.begin() + DescriptorOffset(from), layout::kDescriptorSize,
              bytes.begin() + DescriptorOffset(to));
  Poke<uint64_t>(bytes, cursor, to + 1);
  return to;
}

// Byte offset of slot `slot` in an image whose header is intact.
inline size_t SlotOffset(const std::vector<char>& bytes, uint64_t slot) {
  return Peek<uint64_t>(bytes, offsetof(layout::Header, data_offset)) + slot * 8;
}

}  // namespace testing_util
}  // namespace shmstats
