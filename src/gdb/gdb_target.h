// What gdb knows of an x86-64 Linux target, as tables: the registers it
// sees (gdb's numbering, where each lives in the kernel's user_regs_struct
// or the XSAVE area), the target description built from them, and gdb's
// own numbering of signals.
#pragma once

#include <cstddef>
#include <string>
#include <sys/user.h>
#include <vector>

namespace rr {

// The registers gdb sees, in gdb's numbering: the features of gdb's own
// amd64 Linux description (core, sse, linux, segments, avx).
enum class GdbRegSource { Gp, Fx, Ymm };
struct GdbReg {
  const char* name;
  int bits;
  const char* type;
  const char* feature;
  GdbRegSource src;
  size_t offset;  // Gp: offset in user_regs_struct; Fx/Ymm: offset in the xsave area
};

// One row per register gdb sees, in gdb's order.
const std::vector<GdbReg>& gdb_regs();
// The target description (qXfer:features:read:target.xml), from gdb_regs().
std::string target_xml();
// Register `r`'s bytes as gdb wants them (little-endian, r.bits / 8 long).
std::string reg_bytes(const GdbReg& r, const user_regs_struct& gp, const std::string& xsave);

// Sets register `r` from gdb's bytes (r.bits / 8 of them, little-endian) in
// `gp` or the XSAVE area `xsave`; false when `bytes` has the wrong length.
// The x87 segment selectors, which 64-bit FXSAVE does not keep, are ignored.
bool set_reg_bytes(const GdbReg& r, const std::string& bytes, user_regs_struct& gp, std::string& xsave);

// gdb's number for Linux signal `sig`, and back (0 when it has none).
int gdb_signal(int sig);
int linux_signal(int gdb_sig);

}  // namespace rr
