// The vocabulary the syscall table's rows are written in (syscall_table.cc)
// and that syscall_outputs.cc reads them with: which bytes a call wrote
// (OutSpec rules), when a rule applies, and the Row itself with its column
// builders. Internal to core: the rest of rr sees SyscallDesc.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/syscall_table.h"

namespace rr {
namespace syscall_rows {

// How many bytes the kernel wrote at the address in argument `ptr`.
enum class Rule : uint8_t {
  None,
  Fixed,     // n bytes
  Arg,       // arg[size] bytes
  Ret,       // ret bytes, at most arg[size] when size >= 0
  ArgTimes,  // arg[size] * n bytes
  RetTimes,  // ret * n bytes, ret at most arg[size] when size >= 0
  LenAt,     // the u32 at arg[size] after the call, at most n when n > 0;
             // that u32 is written too
  NameLen,   // LenAt, and the u32 is written even when the buffer is NULL
             // (getsockname, getpeername store the address's full length)
};

// Which results the rule applies to. Most syscalls write only on success.
enum class When : uint8_t {
  Success,
  SuccessOrInterrupted,
  Interrupted,
  UnlessFault,  // any result but EFAULT: the kernel writes even on failure
};

struct OutSpec {
  Rule rule = Rule::None;
  int8_t ptr = 0;
  int8_t size = -1;
  uint32_t n = 0;
  When when = When::Success;
};

constexpr OutSpec fixed(int ptr, uint32_t n, When when = When::Success) {
  return {Rule::Fixed, static_cast<int8_t>(ptr), -1, n, when};
}
constexpr OutSpec arg_bytes(int ptr, int size_arg) {
  return {Rule::Arg, static_cast<int8_t>(ptr), static_cast<int8_t>(size_arg), 0};
}
constexpr OutSpec ret_bytes(int ptr, int cap_arg = -1) {
  return {Rule::Ret, static_cast<int8_t>(ptr), static_cast<int8_t>(cap_arg), 0};
}
constexpr OutSpec arg_times(int ptr, int count_arg, uint32_t each, When when = When::Success) {
  return {Rule::ArgTimes, static_cast<int8_t>(ptr), static_cast<int8_t>(count_arg), each, when};
}
constexpr OutSpec ret_times(int ptr, uint32_t each, int cap_arg = -1) {
  return {Rule::RetTimes, static_cast<int8_t>(ptr), static_cast<int8_t>(cap_arg), each};
}
constexpr OutSpec len_at(int ptr, int len_ptr_arg, uint32_t cap = 0) {
  return {Rule::LenAt, static_cast<int8_t>(ptr), static_cast<int8_t>(len_ptr_arg), cap};
}
constexpr OutSpec name_len(int ptr, int len_ptr_arg, uint32_t cap) {
  return {Rule::NameLen, static_cast<int8_t>(ptr), static_cast<int8_t>(len_ptr_arg), cap};
}

using CustomFn = std::string (*)(const SyscallArgs&, SyscallMemReader&, std::vector<MemRange>&);

// Whether a custom function is also called for a failed syscall.
enum class Failure : bool { WritesNothing, MayWrite };

struct Row {
  SyscallDesc desc;
  std::array<OutSpec, 3> out{};
  CustomFn custom = nullptr;
  Failure failure = Failure::WritesNothing;

  // The other columns, added to a row where they apply:
  // emulate("write").writes(buf_data(0, 1)).
  consteval Row writes(FdWrite w) const {
    Row r = *this;
    r.desc.write = w;
    return r;
  }
  consteval Row fds(FdEffect e) const {
    Row r = *this;
    r.desc.fds = e;
    return r;
  }
  consteval Row wait_mask(int mask, int size) const {
    Row r = *this;
    r.desc.wait_mask = {static_cast<int8_t>(mask), static_cast<int8_t>(size), false};
    return r;
  }
  consteval Row cancel() const {
    Row r = *this;
    r.desc.cancelled = true;
    return r;
  }
  consteval Row filter_at(int (*arg)(const SyscallArgs&)) const {
    Row r = *this;
    r.desc.filter_arg = arg;
    return r;
  }
  consteval Row unpinning() const {
    Row r = *this;
    r.desc.unpins = true;
    return r;
  }
  consteval Row execute_if(bool (*when)(const SyscallArgs&)) const {
    Row r = *this;
    r.desc.executed_when = when;
    return r;
  }
  consteval Row refuse_if(EntryCheck check) const {
    Row r = *this;
    r.desc.refuse = check;
    return r;
  }
  consteval Row diverted(DiversionPolicy p) const {
    Row r = *this;
    r.desc.diversion = p;
    return r;
  }
  // The mask's address and size are a pair at the address in `pair`.
  consteval Row wait_mask_pair(int pair) const {
    Row r = *this;
    r.desc.wait_mask = {static_cast<int8_t>(pair), -1, true};
    return r;
  }
};

// The row of `nr`: a syscall the table knows, a number that is no syscall
// or one above the table; nullptr for any other number.
const Row* find_row(int64_t nr);

}  // namespace syscall_rows
}  // namespace rr
