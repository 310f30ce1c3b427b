#include "core/state_view.h"

#include <cpuid.h>
#include <cinttypes>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <map>
#include <vector>
#include <xxhash.h>

#include "core/address_space.h"
#include "core/fd_table.h"
#include "core/task.h"
#include "preload/syscall_buffer.h"
#include "core/page_scan.h"
#include "util/io.h"
#include "util/scoped_fd.h"

namespace rr {

bool overlay_touches(const MemoryOverlay& overlay, uint64_t at, size_t pages) {
  auto from = overlay.lower_bound(at >= kPageSize ? at - kPageSize : 0);
  for (auto it = from; it != overlay.end() && it->first < at + pages * kPageSize; ++it)
    if (it->first + it->second.size() > at) return true;
  return false;
}

const uint8_t* overlay_page(const MemoryOverlay& overlay, uint64_t at, const uint8_t* page,
                            std::vector<uint8_t>& patched) {
  patched.clear();
  for (auto it = overlay.lower_bound(at >= kPageSize ? at - kPageSize : 0);
       it != overlay.end() && it->first < at + kPageSize; ++it) {
    uint64_t end = it->first + it->second.size();
    if (end <= at) continue;
    if (patched.empty()) {
      patched.assign(kPageSize, 0);
      if (page) memcpy(patched.data(), page, kPageSize);
    }
    uint64_t lo = std::max(at, it->first), hi = std::min(at + kPageSize, end);
    memcpy(patched.data() + (lo - at), it->second.data() + (lo - it->first), hi - lo);
  }
  return patched.empty() ? page : patched.data();
}

namespace {

std::string hex(uint64_t v) {
  char b[24];
  snprintf(b, sizeof b, "0x%" PRIx64, v);
  return b;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if ((unsigned char)c < 0x20) {
      char b[8];
      snprintf(b, sizeof b, "\\u%04x", c);
      out += b;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// Contents hash of a mapping, as the program would read it: kernel-
// maintained pages ([vvar]) are left out because the kernel rewrites them
// all the time, and a page past the end of a mapped file counts as
// "unreadable". The hash covers, in address order, each page that is not
// all zero (its offset in the mapping and its bytes) and each stretch of
// unreadable pages (its offset and length); zero pages count by their
// absence, since the mapping's range is printed beside the hash. So it is
// the same whether a zero page was ever populated (a replay from the start
// and a restored checkpoint differ there), and it costs what is populated:
// pages never touched are known without reading them from the tracee,
// zeros in anonymous memory, the trace file's bytes in a file mapping.
// With `overlay`, bytes at those addresses are taken from it instead; the
// bytes in [dead_lo, dead_hi) count as zeros.
uint64_t hash_range(PageScanner& scanner, const MappingState& m, const MemoryOverlay* overlay, uint64_t dead_lo,
                    uint64_t dead_hi) {
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  // The unreadable stretch not hashed yet: hashed when it cannot grow.
  uint64_t unreadable_at = 0, unreadable_pages = 0;
  auto hash_unreadable = [&] {
    if (unreadable_pages == 0) return;
    const uint64_t record[3] = {'U', unreadable_at, unreadable_pages};
    XXH3_64bits_update(st, record, sizeof(record));
    unreadable_pages = 0;
  };
  if (m.name.rfind("[vvar", 0) != 0) {
    MappingRecord r;
    r.start = m.start;
    r.end = m.end;
    r.offset = m.offset;
    r.shared = m.shared;
    r.backing = m.backing;
    r.file = m.file;
    scanner.scan(r, [&](RemotePtr<> addr, size_t pages, PageKind kind, const uint8_t* bytes) {
      uint64_t offset = addr - m.start;
      if (kind == PageKind::Unreadable) {
        if (unreadable_pages > 0 && unreadable_at + unreadable_pages * kPageSize != offset) hash_unreadable();
        if (unreadable_pages == 0) unreadable_at = offset;
        unreadable_pages += pages;
        return;
      }
      bool overlaid = overlay && overlay_touches(*overlay, addr.as_int(), pages);
      if (!bytes && !overlaid) return;  // zeros
      std::vector<uint8_t> patched;
      for (size_t p = 0; p < pages; ++p) {
        const uint8_t* page = bytes ? bytes + p * kPageSize : nullptr;
        uint64_t at = addr.as_int() + p * kPageSize;
        patched.clear();
        bool dead = at < dead_hi && at + kPageSize > dead_lo;
        if (dead && at >= dead_lo && at + kPageSize <= dead_hi) continue;
        if (overlaid) page = overlay_page(*overlay, at, page, patched);
        if (dead && page) {
          if (patched.empty()) patched.assign(page, page + kPageSize);
          uint64_t lo = std::max(at, dead_lo), hi = std::min(at + kPageSize, dead_hi);
          memset(patched.data() + (lo - at), 0, hi - lo);
          page = patched.data();
        }
        if (!page) continue;
        if (is_zero_page(page)) continue;
        hash_unreadable();
        const uint64_t record[2] = {'D', offset + p * kPageSize};
        XXH3_64bits_update(st, record, sizeof(record));
        XXH3_64bits_update(st, page, kPageSize);
      }
    }, true);
  }
  hash_unreadable();
  uint64_t h = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return h;
}

}  // namespace


// FXSAVE legacy area up to the XMM registers, the upper halves of the YMM
// registers and PKRU: the architectural state, without bookkeeping bytes that depend
// on how the kernel last saved it. The x87 last-instruction fields (FOP, FIP,
// FDP, bytes 6..23) are left out too: AMD CPUs do not restore them, so they
// keep whatever the kernel's own FPU code left there at the last context
// switch, which depends on timing.
uint64_t fpu_hash(Task& t) { return fpu_hash(t.xsave()); }

uint64_t fpu_hash(std::string x) {
  if (x.size() >= 24) std::fill(x.begin() + 6, x.begin() + 24, '\0');
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  XXH3_64bits_update(st, x.data(), std::min<size_t>(x.size(), 416));
  if (x.size() >= 832) XXH3_64bits_update(st, x.data() + 576, 256);
  // PKRU, the rights to the memory protection keys (XSAVE component 9, at
  // the offset CPUID leaf 0xD gives): its value, 0 when the header marks the
  // component as in its initial state, as the kernel reads it.
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_count(0xd, 9, &eax, &ebx, &ecx, &edx) && eax == 4 && x.size() >= 520 && ebx + 4 <= x.size()) {
    uint64_t bv = 0;
    memcpy(&bv, x.data() + 512, sizeof bv);
    uint32_t pkru = 0;
    if (bv & (1u << 9)) memcpy(&pkru, x.data() + ebx, sizeof pkru);
    XXH3_64bits_update(st, &pkru, sizeof pkru);
  }
  uint64_t h = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return h;
}


std::vector<MappingState> mapping_states(Task& t, const std::string& trace_dir, const MappingNamer& namer,
                                         const MemoryOverlay* overlay) {
  std::vector<MappingState> out;
  // Where the kernel has protection keys, smaps, which alone says which
  // key a mapping's pages are tagged with.
  std::vector<MapEntry> entries;
  if (os_has_pkeys()) {
    auto smaps = read_file("/proc/" + std::to_string(t.tid()) + "/smaps");
    if (smaps.ok()) entries = parse_smaps(smaps.value());
  }
  if (entries.empty()) entries = read_maps(t.tid());
  for (const MapEntry& e : entries) {
    // Pages never touched are known without reading them in private
    // anonymous memory and in files rr can read (the trace's, and its own
    // copies); everything else is read whole.
    MappingName n = namer(e);
    bool shared = e.shared && !n.as_private;
    MappingState m{e.start, e.end, prot_string(e.prot, shared), e.offset, n.name, 0, n.backing, shared, n.file, e.pkey};
    // Adjacent pieces of one logical mapping print as one, however the kernel
    // happened to split or merge them.
    if (!out.empty()) {
      MappingState& prev = out.back();
      bool contiguous_offset = prev.name.empty() || prev.name[0] == '[' || prev.offset + (prev.end - prev.start) == m.offset;
      // The kernel names "[heap]" whatever VMA overlaps the break range, so
      // an unnamed anonymous neighbour merged into it on one road and not
      // on another must print alike.
      bool heap_neighbours = (prev.name.empty() || prev.name == "[heap]") && (m.name.empty() || m.name == "[heap]") &&
                             prev.offset == 0 && m.offset == 0;
      if (prev.end == m.start && prev.perms == m.perms && (prev.name == m.name || heap_neighbours) && contiguous_offset &&
          prev.backing == m.backing && prev.file == m.file && prev.pkey == m.pkey) {
        if (m.name == "[heap]") prev.name = m.name;
        prev.end = m.end;
        continue;
      }
    }
    out.push_back(m);
  }
  PageScanner scanner(t, trace_dir);
  for (MappingState& m : out) {
    // The syscall buffer's records between events are dead: replay empties
    // it at every event's stop and writes the next event's records before
    // its stretch, and the recording's calls that blocked or were not taken
    // left other bytes there. Its header and fd gate count.
    bool buffer = m.start <= RemotePtr<>(RR_BUFFER_ADDR) && m.end >= RemotePtr<>(RR_BUFFER_ADDR + RR_BUFFER_SIZE);
    m.hash = buffer ? hash_range(scanner, m, overlay, RR_BUFFER_ADDR + sizeof(rr_buffer_header), RR_FD_GATE_ADDR)
                    : hash_range(scanner, m, overlay, 0, 0);
  }
  return out;
}

std::string format_state(const StateView& v, bool json) {
  std::string out;
  const ReplayCounters& c = v.counters;
  struct Counter {
    const char* name;
    uint64_t value;
  };
  const Counter counters[] = {{"syscalls", c.syscalls}, {"emulated", c.emulated}, {"executed", c.executed},
                              {"signals", c.signals},   {"rdtsc", c.rdtsc},       {"bytes_written", c.bytes_written}};
  const auto& procs = v.procs;
  if (json) {
    out += "{\"event\": " + std::to_string(v.event);
    out += ", \"exited\": " + std::string(v.exited ? "true" : "false");
    if (v.exited) out += ", \"exit_code\": " + std::to_string(v.exit_code) + ", \"killed_by\": " + std::to_string(v.killed_by);
    out += ", \"processes\": [";
    bool first_proc = true;
    for (const auto& [pid, p] : procs) {
      out += std::string(first_proc ? "" : ", ") + "{\"pid\": " + std::to_string(pid) + ", \"tasks\": [";
      first_proc = false;
      for (size_t k = 0; k < p.tasks.size(); ++k) {
        out += std::string(k ? ", " : "") + "{\"tid\": " + std::to_string(p.tasks[k].tid);
        if (p.tasks[k].waiting) {
          out += ", \"waiting\": \"" + std::string(p.tasks[k].waiting) + "\"}";
          continue;
        }
        out += ", \"regs\": {";
        bool first = true;
        for (const RegisterInfo& r : register_table()) {
          out += std::string(first ? "" : ", ") + "\"" + r.name + "\": \"" + hex(p.tasks[k].regs.get(r)) + "\"";
          first = false;
        }
        out += "}, \"fpu_hash\": \"" + hex(p.tasks[k].fpu) + "\"}";
      }
      out += "], \"mappings\": [";
      for (size_t i = 0; i < p.maps.size(); ++i) {
        const MappingState& m = p.maps[i];
        out += std::string(i ? ", " : "") + "{\"start\": \"" + hex(m.start.as_int()) + "\", \"end\": \"" + hex(m.end.as_int()) +
               "\", \"perms\": \"" + m.perms + "\", \"offset\": \"" + hex(m.offset) + "\", \"name\": " +
               json_string(m.name) + ", \"hash\": \"" + hex(m.hash) + "\"" +
               (m.pkey ? ", \"pkey\": " + std::to_string(m.pkey) : std::string()) + "}";
      }
      out += "], \"fds\": [";
      bool first = true;
      for (const auto& [fd, e] : p.fds->entries()) {
        out += std::string(first ? "" : ", ") + "{\"fd\": " + std::to_string(fd) + ", \"kind\": \"" +
               FdTable::kind_name(e.kind) + "\", \"cloexec\": " + (e.cloexec ? "true" : "false") + "}";
        first = false;
      }
      out += "]}";
    }
    out += "], \"counters\": {";
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); ++i)
      out += std::string(i ? ", " : "") + "\"" + counters[i].name + "\": " + std::to_string(counters[i].value);
    out += "}}\n";
    return out;
  }
  out += "event " + std::to_string(v.event) + "\n";
  if (v.exited) out += "exited code " + std::to_string(v.exit_code) + " signal " + std::to_string(v.killed_by) + "\n";
  for (const auto& [pid, p] : procs) {
    out += "process " + std::to_string(pid) + "\n";
    for (const StateTask& t : p.tasks) {
      out += "task " + std::to_string(t.tid) + (t.waiting ? std::string(" ") + t.waiting + "\n" : "\n");
      if (t.waiting) continue;
      for (const RegisterInfo& r : register_table()) out += std::string("  ") + r.name + " " + hex(t.regs.get(r)) + "\n";
      out += "  fpu_hash " + hex(t.fpu) + "\n";
    }
    for (const MappingState& m : p.maps) {
      char line[160];
      snprintf(line, sizeof line, "map %016" PRIx64 "-%016" PRIx64 " %s %08" PRIx64 " %016" PRIx64 " ", m.start.as_int(), m.end.as_int(),
               m.perms.c_str(), m.offset, m.hash);
      out += line + m.name + (m.pkey ? " pkey " + std::to_string(m.pkey) : std::string()) + "\n";
    }
    for (const auto& [fd, e] : p.fds->entries())
      out += "fd " + std::to_string(fd) + " " + FdTable::kind_name(e.kind) + (e.cloexec ? " cloexec" : "") + "\n";
  }
  for (const Counter& k : counters) out += std::string("counter ") + k.name + " " + std::to_string(k.value) + "\n";
  return out;
}

}  // namespace rr
