#include "gdb/gdb_target.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace rr {

#define GP(n, f, bits, type) {#n, bits, type, "core", GdbRegSource::Gp, offsetof(user_regs_struct, f)}
const std::vector<GdbReg>& gdb_regs() {
  static const std::vector<GdbReg> regs = [] {
    std::vector<GdbReg> r = {
        GP(rax, rax, 64, "int64"), GP(rbx, rbx, 64, "int64"), GP(rcx, rcx, 64, "int64"), GP(rdx, rdx, 64, "int64"),
        GP(rsi, rsi, 64, "int64"), GP(rdi, rdi, 64, "int64"), GP(rbp, rbp, 64, "data_ptr"), GP(rsp, rsp, 64, "data_ptr"),
        GP(r8, r8, 64, "int64"), GP(r9, r9, 64, "int64"), GP(r10, r10, 64, "int64"), GP(r11, r11, 64, "int64"),
        GP(r12, r12, 64, "int64"), GP(r13, r13, 64, "int64"), GP(r14, r14, 64, "int64"), GP(r15, r15, 64, "int64"),
        GP(rip, rip, 64, "code_ptr"), GP(eflags, eflags, 32, "i386_eflags"), GP(cs, cs, 32, "int32"),
        GP(ss, ss, 32, "int32"), GP(ds, ds, 32, "int32"), GP(es, es, 32, "int32"), GP(fs, fs, 32, "int32"),
        GP(gs, gs, 32, "int32"),
    };
    static const char* st[] = {"st0", "st1", "st2", "st3", "st4", "st5", "st6", "st7"};
    for (int i = 0; i < 8; ++i) r.push_back({st[i], 80, "i387_ext", "core", GdbRegSource::Fx, (size_t)(32 + 16 * i)});
    // fctrl fstat ftag fiseg fioff foseg fooff fop: offsets into the legacy
    // area; ftag (4) and the segment fields are special-cased.
    r.push_back({"fctrl", 32, "int", "core", GdbRegSource::Fx, 0});
    r.push_back({"fstat", 32, "int", "core", GdbRegSource::Fx, 2});
    r.push_back({"ftag", 32, "int", "core", GdbRegSource::Fx, 4});
    r.push_back({"fiseg", 32, "int", "core", GdbRegSource::Fx, 12});
    r.push_back({"fioff", 32, "int", "core", GdbRegSource::Fx, 8});
    r.push_back({"foseg", 32, "int", "core", GdbRegSource::Fx, 20});
    r.push_back({"fooff", 32, "int", "core", GdbRegSource::Fx, 16});
    r.push_back({"fop", 32, "int", "core", GdbRegSource::Fx, 6});
    static const char* xmm[] = {"xmm0", "xmm1", "xmm2",  "xmm3",  "xmm4",  "xmm5",  "xmm6",  "xmm7",
                                "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"};
    for (int i = 0; i < 16; ++i) r.push_back({xmm[i], 128, "vec128", "sse", GdbRegSource::Fx, (size_t)(160 + 16 * i)});
    r.push_back({"mxcsr", 32, "i386_mxcsr", "sse", GdbRegSource::Fx, 24});
    r.push_back(GP(orig_rax, orig_rax, 64, "int"));
    r.back().feature = "linux";
    r.push_back(GP(fs_base, fs_base, 64, "int"));
    r.back().feature = "segments";
    r.push_back(GP(gs_base, gs_base, 64, "int"));
    r.back().feature = "segments";
    static const char* ymm[] = {"ymm0h", "ymm1h", "ymm2h",  "ymm3h",  "ymm4h",  "ymm5h",  "ymm6h",  "ymm7h",
                                "ymm8h", "ymm9h", "ymm10h", "ymm11h", "ymm12h", "ymm13h", "ymm14h", "ymm15h"};
    for (int i = 0; i < 16; ++i) r.push_back({ymm[i], 128, "uint128", "avx", GdbRegSource::Ymm, (size_t)(576 + 16 * i)});
    return r;
  }();
  return regs;
}
#undef GP

std::string target_xml() {
  std::string x =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target>\n"
      "<architecture>i386:x86-64</architecture>\n<osabi>GNU/Linux</osabi>\n";
  struct Feature {
    const char* key;
    const char* name;
    const char* types;
  };
  static const Feature features[] = {
      {"core", "org.gnu.gdb.i386.core",
       "<flags id=\"i386_eflags\" size=\"4\"><field name=\"CF\" start=\"0\" end=\"0\"/><field name=\"\" start=\"1\" end=\"1\"/>"
       "<field name=\"PF\" start=\"2\" end=\"2\"/><field name=\"AF\" start=\"4\" end=\"4\"/><field name=\"ZF\" start=\"6\" end=\"6\"/>"
       "<field name=\"SF\" start=\"7\" end=\"7\"/><field name=\"TF\" start=\"8\" end=\"8\"/><field name=\"IF\" start=\"9\" end=\"9\"/>"
       "<field name=\"DF\" start=\"10\" end=\"10\"/><field name=\"OF\" start=\"11\" end=\"11\"/><field name=\"NT\" start=\"14\" end=\"14\"/>"
       "<field name=\"RF\" start=\"16\" end=\"16\"/><field name=\"VM\" start=\"17\" end=\"17\"/><field name=\"AC\" start=\"18\" end=\"18\"/>"
       "<field name=\"VIF\" start=\"19\" end=\"19\"/><field name=\"VIP\" start=\"20\" end=\"20\"/><field name=\"ID\" start=\"21\" end=\"21\"/></flags>\n"},
      {"sse", "org.gnu.gdb.i386.sse",
       "<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/><vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
       "<vector id=\"v16i8\" type=\"int8\" count=\"16\"/><vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
       "<vector id=\"v4i32\" type=\"int32\" count=\"4\"/><vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"
       "<union id=\"vec128\"><field name=\"v4_float\" type=\"v4f\"/><field name=\"v2_double\" type=\"v2d\"/>"
       "<field name=\"v16_int8\" type=\"v16i8\"/><field name=\"v8_int16\" type=\"v8i16\"/><field name=\"v4_int32\" type=\"v4i32\"/>"
       "<field name=\"v2_int64\" type=\"v2i64\"/><field name=\"uint128\" type=\"uint128\"/></union>"
       "<flags id=\"i386_mxcsr\" size=\"4\"><field name=\"IE\" start=\"0\" end=\"0\"/><field name=\"DE\" start=\"1\" end=\"1\"/>"
       "<field name=\"ZE\" start=\"2\" end=\"2\"/><field name=\"OE\" start=\"3\" end=\"3\"/><field name=\"UE\" start=\"4\" end=\"4\"/>"
       "<field name=\"PE\" start=\"5\" end=\"5\"/><field name=\"DAZ\" start=\"6\" end=\"6\"/><field name=\"IM\" start=\"7\" end=\"7\"/>"
       "<field name=\"DM\" start=\"8\" end=\"8\"/><field name=\"ZM\" start=\"9\" end=\"9\"/><field name=\"OM\" start=\"10\" end=\"10\"/>"
       "<field name=\"UM\" start=\"11\" end=\"11\"/><field name=\"PM\" start=\"12\" end=\"12\"/><field name=\"FZ\" start=\"15\" end=\"15\"/></flags>\n"},
      {"linux", "org.gnu.gdb.i386.linux", ""},
      {"segments", "org.gnu.gdb.i386.segments", ""},
      {"avx", "org.gnu.gdb.i386.avx", ""},
  };
  const auto& regs = gdb_regs();
  for (const Feature& f : features) {
    x += std::string("<feature name=\"") + f.name + "\">\n" + f.types;
    for (size_t i = 0; i < regs.size(); ++i) {
      if (strcmp(regs[i].feature, f.key) != 0) continue;
      x += "<reg name=\"" + std::string(regs[i].name) + "\" bitsize=\"" + std::to_string(regs[i].bits) + "\" type=\"" +
           regs[i].type + "\" regnum=\"" + std::to_string(i) + "\"";
      if (!strcmp(regs[i].name, "orig_rax")) x += " group=\"system\"";
      x += "/>\n";
    }
    x += "</feature>\n";
  }
  x += "</target>\n";
  return x;
}

namespace {

// The full x87 tag word from FXSAVE's abridged one: empty (3) or valid (0).
uint16_t full_ftag(uint8_t abridged) {
  uint16_t tag = 0;
  for (int i = 0; i < 8; ++i)
    if (!(abridged & (1 << i))) tag |= 3 << (2 * i);
  return tag;
}

}  // namespace

std::string reg_bytes(const GdbReg& r, const user_regs_struct& gp, const std::string& xsave) {
  size_t n = r.bits / 8;
  std::string out(n, '\0');
  switch (r.src) {
    case GdbRegSource::Gp: {
      uint64_t v;
      memcpy(&v, reinterpret_cast<const char*>(&gp) + r.offset, 8);
      memcpy(out.data(), &v, n);
      break;
    }
    case GdbRegSource::Fx:
      if (!strcmp(r.name, "ftag")) {
        uint16_t t = xsave.size() > 4 ? full_ftag((uint8_t)xsave[4]) : 0xffff;
        memcpy(out.data(), &t, 2);
      } else if (!strcmp(r.name, "fiseg") || !strcmp(r.name, "foseg")) {
        // 64-bit FXSAVE keeps full pointers; no selectors.
      } else if (!strcmp(r.name, "fctrl") || !strcmp(r.name, "fstat") || !strcmp(r.name, "fop")) {
        if (xsave.size() >= r.offset + 2) memcpy(out.data(), xsave.data() + r.offset, 2);
      } else if (xsave.size() >= r.offset + std::min<size_t>(n, 8) && n <= 4) {
        memcpy(out.data(), xsave.data() + r.offset, 4);
      } else if (xsave.size() >= r.offset + n) {
        memcpy(out.data(), xsave.data() + r.offset, n);
      }
      break;
    case GdbRegSource::Ymm: {
      bool avx_live = xsave.size() > 520 && (xsave[512] & 4);
      if (avx_live && xsave.size() >= r.offset + n) memcpy(out.data(), xsave.data() + r.offset, n);
      break;
    }
  }
  return out;
}

bool set_reg_bytes(const GdbReg& r, const std::string& bytes, user_regs_struct& gp, std::string& xsave) {
  size_t n = r.bits / 8;
  if (bytes.size() != n) return false;
  switch (r.src) {
    case GdbRegSource::Gp: {
      uint64_t v = 0;
      memcpy(&v, bytes.data(), std::min<size_t>(n, 8));
      memcpy(reinterpret_cast<char*>(&gp) + r.offset, &v, 8);
      return true;
    }
    case GdbRegSource::Fx: {
      if (!strcmp(r.name, "fiseg") || !strcmp(r.name, "foseg")) return true;
      if (!strcmp(r.name, "ftag")) {
        // FXSAVE keeps one bit per register: valid unless the tag says empty (3).
        uint16_t full;
        memcpy(&full, bytes.data(), 2);
        uint8_t abridged = 0;
        for (int i = 0; i < 8; ++i)
          if (((full >> (2 * i)) & 3) != 3) abridged |= 1 << i;
        if (xsave.size() > 4) xsave[4] = (char)abridged;
        return true;
      }
      size_t len = (!strcmp(r.name, "fctrl") || !strcmp(r.name, "fstat") || !strcmp(r.name, "fop")) ? 2 : n;
      if (xsave.size() >= r.offset + len) memcpy(xsave.data() + r.offset, bytes.data(), len);
      return true;
    }
    case GdbRegSource::Ymm: {
      if (xsave.size() < 576 + 256) return true;
      if (!(xsave[512] & 4)) {
        // The AVX state was in its initial form (all zero), which the
        // area's bytes need not show: make it explicit first.
        memset(xsave.data() + 576, 0, 256);
        xsave[512] |= 4;
      }
      memcpy(xsave.data() + r.offset, bytes.data(), n);
      return true;
    }
  }
  return false;
}

// gdb's remote protocol numbers signals its own way (include/gdb/signals.def):
// the classic Unix numbering, which Linux follows only up to SIGTERM.
// Row N is Linux signal N.
namespace {

constexpr uint8_t kGdbSignalOf[32] = {
    0,  1,  2,  3,  4,  5,  6,
    10,  // SIGBUS
    8,  9,
    30,  // SIGUSR1
    11,
    31,  // SIGUSR2
    13, 14, 15,
    143, // SIGSTKFLT: no gdb name
    20,  // SIGCHLD
    19,  // SIGCONT
    17,  // SIGSTOP
    18, 21, 22,
    16,  // SIGURG
    24, 25, 26, 27, 28,
    23,  // SIGIO
    32,  // SIGPWR
    12,  // SIGSYS
};

}  // namespace

int gdb_signal(int sig) {
  if (sig >= 0 && sig < 32) return kGdbSignalOf[sig];
  if (sig == 32) return 77;
  if (sig >= 33 && sig <= 63) return 45 + (sig - 33);
  if (sig == 64) return 78;
  return 143;
}

int linux_signal(int gdb_sig) {
  for (int s = 1; s <= 64; ++s)
    if (gdb_signal(s) == gdb_sig) return s;
  return 0;
}

}  // namespace rr
