#include "core/progress_counter.h"

#include <elf.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "core/address_space.h"
#include "core/remote_syscalls.h"
#include "util/io.h"

namespace rr {

namespace {

constexpr uint64_t kLowestMappable = 0x10000;  // vm.mmap_min_addr's usual value

std::string hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "%llx", (unsigned long long)v);
  return buf;
}

struct Section {
  uint64_t addr = 0, size = 0;
};

// The .text section of an ELF file, by its section headers.
Result<Section> text_section(const std::string& elf) {
  auto bad = [] { return make_error("the executable's section headers cannot be read"); };
  if (elf.size() < sizeof(Elf64_Ehdr) || memcmp(elf.data(), ELFMAG, SELFMAG) != 0) return bad();
  Elf64_Ehdr eh;
  memcpy(&eh, elf.data(), sizeof eh);
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shstrndx >= eh.e_shnum ||
      eh.e_shoff > elf.size() || (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr) > elf.size() - eh.e_shoff)
    return bad();
  auto shdr = [&](size_t i) {
    Elf64_Shdr s;
    memcpy(&s, elf.data() + eh.e_shoff + i * sizeof(Elf64_Shdr), sizeof s);
    return s;
  };
  Elf64_Shdr names = shdr(eh.e_shstrndx);
  if (names.sh_offset > elf.size() || names.sh_size > elf.size() - names.sh_offset) return bad();
  for (size_t i = 0; i < eh.e_shnum; ++i) {
    Elf64_Shdr s = shdr(i);
    if (s.sh_name >= names.sh_size) continue;
    const char* name = elf.data() + names.sh_offset + s.sh_name;
    size_t room = names.sh_size - s.sh_name;
    if (strnlen(name, room) == room || strcmp(name, ".text") != 0) continue;
    if (s.sh_type != SHT_PROGBITS || !(s.sh_flags & SHF_EXECINSTR)) return bad();
    return Section{s.sh_addr, s.sh_size};
  }
  return make_error("the executable has no .text section");
}

}  // namespace

Result<CounterSetup> plan_counter(Task& t) {
  std::string exe = "/proc/" + std::to_string(t.tid()) + "/exe";
  struct stat st;
  if (stat(exe.c_str(), &st) != 0) return make_error("the progress counter cannot read " + exe + ": " + errno_text());
  RR_ASSIGN_OR_RETURN(std::string elf, read_file(exe));
  RR_ASSIGN_OR_RETURN(Section text, text_section(elf));
  Elf64_Ehdr eh;
  memcpy(&eh, elf.data(), sizeof eh);
  std::vector<MapEntry> maps = read_maps(t.tid());
  uint64_t lowest = UINT64_MAX, bias = 0;
  for (const MapEntry& m : maps) {
    if (m.inode != st.st_ino || m.dev != st.st_dev) continue;
    lowest = std::min(lowest, m.start.as_int());
    if (m.offset == 0 && eh.e_type == ET_DYN) bias = m.start.as_int();
  }
  if (lowest == UINT64_MAX) return make_error("the progress counter does not find the executable's mappings");
  if (lowest < kLowestMappable + kPageSize) return make_error("no room for the progress counter's stubs below the executable");
  uint64_t room = std::min(kStubAreaMax, (lowest - kLowestMappable) & ~(kPageSize - 1));
  uint64_t stub_base = lowest - room;
  for (const MapEntry& m : maps)
    if (m.end.as_int() > stub_base && m.start.as_int() < lowest)
      return make_error("no room for the progress counter's stubs below the executable");
  CounterSetup setup;
  setup.text_start = bias + text.addr;
  setup.text_end = setup.text_start + text.size;
  std::string code = t.read_bytes(RemotePtr<>(setup.text_start), text.size);
  setup.plan = plan_branch_rewrite(reinterpret_cast<const uint8_t*>(code.data()), code.size(), setup.text_start,
                                   stub_base, room, kCounterSlots);
  return setup;
}

Status install_counter(Task& t, RemoteSyscalls& rs, const CounterSetup& setup) {
  int64_t page = rs.syscall(SYS_mmap, {kCounterPageAddr, kPageSize, PROT_READ | PROT_WRITE,
                                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, (uint64_t)-1, 0});
  if (page != (int64_t)kCounterPageAddr)
    return make_error("cannot map the progress counter page at 0x" + hex(kCounterPageAddr) + " (" +
                      std::to_string(page) + ")");
  const RewritePlan& plan = setup.plan;
  if (!plan.stubs.empty()) {
    uint64_t len = (plan.stubs.size() + kPageSize - 1) & ~(kPageSize - 1);
    int64_t got = rs.syscall(SYS_mmap, {plan.stub_base, len, PROT_READ | PROT_EXEC,
                                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, (uint64_t)-1, 0});
    if (got != (int64_t)plan.stub_base)
      return make_error("cannot map the progress counter's stubs at 0x" + hex(plan.stub_base) + " (" +
                        std::to_string(got) + ")");
    if (!t.try_write_mem(RemotePtr<>(plan.stub_base), plan.stubs.data(), plan.stubs.size()))
      return make_error("cannot write the progress counter's stubs");
  }
  for (const CodePatch& p : plan.patches)
    if (!t.try_write_mem(RemotePtr<>(p.addr), p.bytes.data(), p.bytes.size()))
      return make_error("cannot rewrite the branch at 0x" + hex(p.addr));
  return {};
}

bool arm_counter(Task& t, uint64_t ticks) {
  return t.try_write_mem(RemotePtr<>(kCounterSlots.remaining), &ticks, sizeof ticks);
}

std::optional<uint64_t> counter_remaining(Task& t) {
  uint64_t v;
  if (!t.read_mem(RemotePtr<>(kCounterSlots.remaining), &v, sizeof v)) return std::nullopt;
  return v;
}

bool at_counter_trap(Task& t, const Registers& regs) {
  static const std::string signature = stub_trap_signature(kCounterSlots);
  uint64_t ip = regs.ip().as_int();
  if (ip < signature.size()) return false;
  std::string before(signature.size(), '\0');
  if (!t.read_mem(RemotePtr<>(ip - signature.size()), before.data(), before.size())) return false;
  return before == signature;
}

}  // namespace rr
