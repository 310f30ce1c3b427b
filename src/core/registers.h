// The x86-64 general-purpose registers of a stopped thread
// (struct user_regs_struct), with a table that names every field so that
// comparisons, dumps and the gdb server walk data instead of spelling out
// each register.
#pragma once

#include <cstdint>
#include <string>
#include <sys/user.h>
#include <vector>

#include "util/types.h"

namespace rr {

// One row per field of user_regs_struct.
struct RegisterInfo {
  const char* name;
  size_t offset;  // byte offset in user_regs_struct
};

const std::vector<RegisterInfo>& register_table();

class Registers {
 public:
  Registers() = default;
  explicit Registers(const user_regs_struct& r) : r_(r) {}

  const user_regs_struct& raw() const { return r_; }
  user_regs_struct& raw() { return r_; }

  RemotePtr<> ip() const { return RemotePtr<>(r_.rip); }
  void set_ip(RemotePtr<> ip) { r_.rip = ip.as_int(); }
  RemotePtr<> sp() const { return RemotePtr<>(r_.rsp); }
  void set_sp(RemotePtr<> sp) { r_.rsp = sp.as_int(); }
  int64_t syscallno() const { return static_cast<int64_t>(r_.orig_rax); }
  void set_syscallno(int64_t nr) { r_.orig_rax = static_cast<uint64_t>(nr); }
  int64_t syscall_result() const { return static_cast<int64_t>(r_.rax); }
  void set_syscall_result(int64_t v) { r_.rax = static_cast<uint64_t>(v); }
  uint64_t arg(int i) const;
  void set_arg(int i, uint64_t v);

  uint64_t get(const RegisterInfo& info) const;

  // Serialized form used in traces and checkpoints: the fields in order.
  std::string to_bytes() const;
  static bool from_bytes(const void* data, size_t len, Registers& out);

  // Names and values of every field that differs, "rip 0x1 != 0x2; rax ...".
  // Empty when equal.
  std::string diff(const Registers& other) const;
  bool operator==(const Registers& other) const { return diff(other).empty(); }
  // Equal but for the debug flags (RF, TF) and orig_rax: the same point of
  // a program, however a debugger stopped it there.
  bool same_point(const Registers& other) const;
  // These registers with the debug flags and orig_rax cleared: what
  // same_point compares (its diff names where two points differ).
  Registers at_point() const;

 private:
  user_regs_struct r_{};
};

}  // namespace rr
