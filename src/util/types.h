// Value types that say where a number lives: a tracee address is not a
// supervisor pointer, a recorded tid is not a live tid. Passing one where
// the other is wanted is a compile error.
#pragma once

#include <cstdint>
#include <functional>
#include <sys/types.h>

namespace rr {

// An address in a tracee's address space. It cannot be dereferenced here;
// read and write it through Task.
class RemotePtr {
 public:
  constexpr RemotePtr() = default;
  constexpr explicit RemotePtr(uint64_t addr) : addr_(addr) {}
  constexpr uint64_t as_int() const { return addr_; }
  constexpr bool is_null() const { return addr_ == 0; }
  constexpr RemotePtr operator+(uint64_t delta) const { return RemotePtr(addr_ + delta); }
  constexpr uint64_t operator-(RemotePtr other) const { return addr_ - other.addr_; }
  constexpr auto operator<=>(const RemotePtr&) const = default;

 private:
  uint64_t addr_ = 0;
};

// A thread id as it was during recording. Replay may run the thread under
// another live tid; the recorded one is what users and traces see.
struct RecordedTid {
  pid_t value = 0;
  constexpr auto operator<=>(const RecordedTid&) const = default;
};

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t page_floor(uint64_t v) { return v & ~(kPageSize - 1); }
constexpr uint64_t page_ceil(uint64_t v) { return (v + kPageSize - 1) & ~(kPageSize - 1); }

}  // namespace rr
