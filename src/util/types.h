// Value types that say where a number lives: a tracee address is not a
// supervisor pointer, a recorded tid is not a live tid. Passing one where
// the other is wanted is a compile error.
#pragma once

#include <cstdint>
#include <functional>
#include <type_traits>
#include <sys/types.h>

namespace rr {

// An address in a tracee's address space. It cannot be dereferenced here;
// read and write it through Task. T is the type of what lives there (void:
// bytes of no particular type). Arithmetic steps by sizeof(T), as for a
// pointer in C (by bytes for void); a typed pointer converts implicitly to
// RemotePtr<> and to another element type only through cast<U>().
template <typename T = void>
class RemotePtr {
 public:
  using element_type = T;
  constexpr RemotePtr() = default;
  constexpr explicit RemotePtr(uint64_t addr) : addr_(addr) {}
  template <typename U>
    requires(std::is_void_v<T> && !std::is_void_v<U>)
  constexpr RemotePtr(RemotePtr<U> other) : addr_(other.as_int()) {}  // NOLINT: implicit to untyped on purpose

  constexpr uint64_t as_int() const { return addr_; }
  constexpr bool is_null() const { return addr_ == 0; }
  template <typename U>
  constexpr RemotePtr<U> cast() const { return RemotePtr<U>(addr_); }

  constexpr RemotePtr operator+(uint64_t n) const { return RemotePtr(addr_ + n * stride()); }
  constexpr RemotePtr operator-(uint64_t n) const { return RemotePtr(addr_ - n * stride()); }
  constexpr RemotePtr& operator+=(uint64_t n) { addr_ += n * stride(); return *this; }
  constexpr RemotePtr& operator-=(uint64_t n) { addr_ -= n * stride(); return *this; }
  // Distance in elements (bytes for RemotePtr<>) from other up to this.
  constexpr uint64_t operator-(RemotePtr other) const { return (addr_ - other.addr_) / stride(); }

  // The member `member` of the struct this points at, e.g.
  // RemotePtr<siginfo_t> p; p.field(&siginfo_t::si_signo) is a RemotePtr<int>.
  template <typename M, typename C>
    requires(std::is_same_v<C, T> && std::is_standard_layout_v<T> && std::is_trivially_default_constructible_v<T>)
  RemotePtr<M> field(M C::*member) const {
    static const T probe{};
    auto at = reinterpret_cast<const char*>(&(probe.*member)) - reinterpret_cast<const char*>(&probe);
    return RemotePtr<M>(addr_ + static_cast<uint64_t>(at));
  }

  constexpr auto operator<=>(const RemotePtr&) const = default;

 private:
  // A function, not a constant, so that a RemotePtr<T> of an incomplete T
  // can be declared (arithmetic needs T complete).
  static constexpr uint64_t stride() {
    if constexpr (std::is_void_v<T>) return 1;
    else return sizeof(T);
  }
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
