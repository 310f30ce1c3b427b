#include "gdb/library_list.h"

#include <cstdio>
#include <cstring>
#include <elf.h>
#include <link.h>
#include <vector>

#include "gdb/gdb_connection.h"
#include "util/io.h"

namespace rr {

namespace {

// The link_map fields gdb wants (glibc's public part of struct link_map).
struct LinkMap {
  uint64_t l_addr;  // load bias
  uint64_t l_name;  // char*
  uint64_t l_ld;    // its dynamic section
  uint64_t l_next, l_prev;
};

std::string hex(uint64_t v) { return "0x" + hex_u64(v); }

// XML's special characters in a path.
std::string escaped(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

// The value of auxv entry `type` (0 when absent).
uint64_t auxv_entry(const std::string& auxv, uint64_t type) {
  for (size_t at = 0; at + 16 <= auxv.size(); at += 16) {
    uint64_t entry[2];
    memcpy(entry, auxv.data() + at, 16);
    if (entry[0] == type) return entry[1];
    if (entry[0] == AT_NULL) break;
  }
  return 0;
}

// The dynamic linker's r_debug, through the program's DT_DEBUG entry (which
// the linker fills in as it starts); 0 where there is none yet.
uint64_t find_r_debug(Task& t) {
  auto auxv = read_file("/proc/" + std::to_string(t.tid()) + "/auxv");
  if (!auxv.ok()) return 0;
  uint64_t phdr = auxv_entry(auxv.value(), AT_PHDR), phnum = auxv_entry(auxv.value(), AT_PHNUM);
  if (!phdr || !phnum || phnum > 256) return 0;
  std::vector<Elf64_Phdr> ph(phnum);
  if (!t.read_mem(RemotePtr<>(phdr), ph.data(), phnum * sizeof(Elf64_Phdr))) return 0;
  uint64_t bias = 0, dynamic = 0;
  for (const Elf64_Phdr& p : ph)
    if (p.p_type == PT_PHDR) bias = phdr - p.p_vaddr;
  for (const Elf64_Phdr& p : ph)
    if (p.p_type == PT_DYNAMIC) dynamic = bias + p.p_vaddr;
  if (!dynamic) return 0;  // a static program
  for (int i = 0; i < 512; ++i) {
    Elf64_Dyn d;
    if (!t.read_mem(RemotePtr<>(dynamic + i * sizeof d), &d, sizeof d) || d.d_tag == DT_NULL) return 0;
    if (d.d_tag == DT_DEBUG) return d.d_un.d_ptr;
  }
  return 0;
}

std::string read_c_string(Task& t, uint64_t addr) {
  std::string s;
  char buf[64];
  while (addr && s.size() < 4096) {
    size_t n = sizeof buf - (addr % sizeof buf);  // never across a page
    if (!t.read_mem(RemotePtr<>(addr), buf, n)) break;
    for (size_t i = 0; i < n; ++i) {
      if (!buf[i]) return s;
      s += buf[i];
    }
    addr += n;
  }
  return s;
}

}  // namespace

std::string library_list_svr4(Task& t) {
  uint64_t r_debug = find_r_debug(t);
  uint64_t first = 0;
  // struct r_debug: int r_version; struct link_map* r_map; ...
  if (!r_debug || !t.read_mem(RemotePtr<>(r_debug + 8), &first, sizeof first) || !first)
    return "<library-list-svr4 version=\"1.0\"/>";
  std::string xml = "<library-list-svr4 version=\"1.0\" main-lm=\"" + hex(first) + "\">";
  // The first entry is the program itself (main-lm); a bound keeps a
  // corrupt chain from looping.
  uint64_t lm = first;
  for (int n = 0; lm && n < 4096; ++n) {
    LinkMap m;
    if (!t.read_mem(RemotePtr<>(lm), &m, sizeof m)) break;
    std::string name = lm == first ? "" : read_c_string(t, m.l_name);
    if (!name.empty())
      xml += "<library name=\"" + escaped(name) + "\" lm=\"" + hex(lm) + "\" l_addr=\"" + hex(m.l_addr) +
             "\" l_ld=\"" + hex(m.l_ld) + "\" lmid=\"0x0\"/>";
    lm = m.l_next;
  }
  return xml + "</library-list-svr4>";
}

}  // namespace rr
