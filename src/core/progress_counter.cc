#include "core/progress_counter.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "core/address_space.h"
#include "core/random_insns.h"
#include "preload/syscall_buffer.h"
#include "core/remote_syscalls.h"
#include "util/fatal.h"
#include "util/io.h"
#include "util/scoped_fd.h"

namespace rr {

namespace {

constexpr uint64_t kLowestMappable = 0x10000;  // vm.mmap_min_addr's usual value

std::string hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "%llx", (unsigned long long)v);
  return buf;
}

}  // namespace

uint64_t free_room_below(const std::vector<MapEntry>& maps, uint64_t below, uint64_t lowest, uint64_t len,
                         std::pair<uint64_t, uint64_t> also_taken) {
  if (below < lowest + len) return 0;
  std::vector<std::pair<uint64_t, uint64_t>> used;
  used.reserve(maps.size() + 1);
  for (const MapEntry& m : maps) used.push_back({m.start.as_int(), m.end.as_int()});
  if (also_taken.first < also_taken.second) used.push_back(also_taken);
  std::sort(used.begin(), used.end());
  // Overlapping ranges made one (rr's fixed pages, taken whole by
  // stub_room, overlap the counter page mapped among them).
  std::vector<std::pair<uint64_t, uint64_t>> merged;
  for (const auto& r : used) {
    if (!merged.empty() && r.first <= merged.back().second) merged.back().second = std::max(merged.back().second, r.second);
    else merged.push_back(r);
  }
  used.swap(merged);
  uint64_t top = below;  // the free room considered ends here
  for (auto it = used.rbegin(); it != used.rend(); ++it) {
    if (it->first >= top) continue;
    if (it->second <= top && top - it->second >= len) return top - len;  // the gap above this mapping
    top = std::min(top, it->first);
    if (top < lowest + len) return 0;
  }
  return top >= lowest + len ? top - len : 0;
}

uint64_t stub_room(const std::vector<MapEntry>& maps, uint64_t mapping_start, uint64_t text_start, uint64_t text_end,
                   uint64_t need) {
  const std::pair<uint64_t, uint64_t> rr_pages{kRrPageAddr, RR_BUFFER_ADDR + RR_BUFFER_SIZE};
  uint64_t reach = (1ull << 31) - kStubAreaMax;
  uint64_t lowest = text_end > reach + kLowestMappable ? text_end - reach : kLowestMappable;
  if (uint64_t base = free_room_below(maps, mapping_start, lowest, need, rr_pages)) return base;
  // Above only code below rr's pages (linked low): above a library near
  // the top of the address space is the stack's room to grow.
  if (text_end > kRrPageAddr) return 0;
  return free_room_below(maps, (text_start + reach) & ~(kPageSize - 1), text_end, need, rr_pages);
}

bool rewritable_code(const MapEntry& m) {
  return (m.prot & PROT_EXEC) && !m.shared && m.inode != 0 && !is_special_mapping(m);
}

namespace {

// A plan made, its patches in address order, as install_rewrite writes
// them: sorted once here, not at every process's install in record and
// replay (relocate_plan keeps the order).
RewritePlan sorted_by_address(RewritePlan plan) {
  plan.patches = plan.patches.sorted_by_address();
  return plan;
}

}  // namespace

const RewritePlan& PlanCache::plan(const std::string& code, uint64_t code_addr,
                                   const std::vector<AddrRange>& functions, bool nops_are_padding) {
  PlanKey key;
  if (!store_.dir().empty()) key = plan_key(code, code_addr, functions, nops_are_padding);
  return near_plan(code, code_addr, functions, nops_are_padding, key);
}

const RewritePlan& PlanCache::near_plan(const std::string& code, uint64_t code_addr,
                                        const std::vector<AddrRange>& functions, bool nops_are_padding,
                                        const PlanKey& key) {
  for (Entry& e : entries_)
    if (e.code_addr == code_addr && e.nops_are_padding == nops_are_padding && e.functions == functions &&
        e.code == code)
      return e.plan;
  Entry e{code, code_addr, functions, nops_are_padding, {}};
  if (std::optional<RewritePlan> stored = store_.load(key)) {
    e.plan = std::move(*stored);
    ++loaded_;
    RR_LOG("progress counter: the plan of the code at 0x%llx read from %s/%s", (unsigned long long)code_addr,
           store_.dir().c_str(), key.hex().c_str());
  } else {
    uint64_t near = code_addr > kStubAreaMax ? code_addr - kStubAreaMax : 0;
    e.plan = sorted_by_address(plan_branch_rewrite(reinterpret_cast<const uint8_t*>(code.data()), code.size(),
                                                   code_addr, functions, near, kStubAreaMax, kCounterSlots,
                                                   nops_are_padding));
    ++made_;
    store_.store(key, e.plan);
  }
  if (entries_.size() >= kMaxEntries) entries_.erase(entries_.begin());
  entries_.push_back(std::move(e));
  return entries_.back().plan;
}

std::shared_ptr<const RewritePlan> PlanCache::placed(const RewritePlan& near, uint64_t stub_base) {
  auto relocated = [&]() -> std::shared_ptr<const RewritePlan> {
    std::optional<RewritePlan> moved = relocate_plan(near, stub_base, kCounterSlots);
    if (!moved) return nullptr;
    return std::make_shared<const RewritePlan>(std::move(*moved));
  };
  for (Entry& e : entries_) {
    if (&e.plan != &near) continue;
    if (!e.placed || e.placed->first != stub_base) {
      std::shared_ptr<const RewritePlan> moved = relocated();
      if (!moved) return nullptr;
      e.placed.emplace(stub_base, std::move(moved));
    }
    return e.placed->second;
  }
  return relocated();
}

PlanCache::Placed PlanCache::place(const std::string& code, uint64_t code_addr,
                                   const std::vector<AddrRange>& functions, bool nops_are_padding,
                                   const std::function<uint64_t(uint64_t need)>& room) {
  return place([&]() -> const std::string& { return code; }, std::nullopt, code_addr, functions, nops_are_padding,
               room);
}

PlanCache::Placed PlanCache::place(const std::function<const std::string&()>& code,
                                   const std::optional<PlanKey>& file_key, uint64_t code_addr,
                                   const std::vector<AddrRange>& functions, bool nops_are_padding,
                                   const std::function<uint64_t(uint64_t need)>& room) {
  auto need_of = [](uint64_t stub_bytes) { return std::max<uint64_t>(page_ceil(stub_bytes), kPageSize); };
  auto remembered = [&](const PlanKey& placed_key) -> const Placed* {
    for (auto& [k, p] : placed_)
      if (k == placed_key) return &p;
    return nullptr;
  };
  auto remember = [&](const PlanKey& placed_key, const Placed& p) {
    if (placed_.size() >= kMaxEntries) placed_.erase(placed_.begin());
    placed_.push_back({placed_key, p});
  };
  bool stored = !store_.dir().empty();
  PlanKey key;
  if (stored) {
    key = file_key ? *file_key : plan_key(code(), code_addr, functions, nops_are_padding);
    // The stored plan's stub size says where its stubs go; the placed
    // plan's own file then checks (its sum, its place and its size).
    if (std::optional<uint64_t> stub_bytes = store_.stub_bytes(key)) {
      uint64_t need = need_of(*stub_bytes);
      uint64_t base = room(need);
      // No room for the stubs: the code is not rewritten, and neither the
      // code (cc1's 20 MB) nor its plan needs reading to know it.
      if (base == 0) return Placed{0, need, nullptr, {}};
      PlanKey placed_key = placed_plan_key(key, base);
      if (const Placed* p = remembered(placed_key)) return *p;
      StoredPlanFile file;
      std::optional<RewritePlan> plan = store_.load(placed_key, &file);
      if (plan && plan->stub_base == base && need_of(plan->stubs.size()) <= need) {
        ++loaded_;
        RR_LOG("progress counter: the plan of the code at 0x%llx read from %s (placed at 0x%llx)",
               (unsigned long long)code_addr, file.path.c_str(), (unsigned long long)base);
        Placed p{base, need, std::make_shared<const RewritePlan>(std::move(*plan)), file};
        remember(placed_key, p);
        return p;
      }
    }
  }
  const RewritePlan& near = near_plan(code(), code_addr, functions, nops_are_padding, key);
  Placed p;
  p.need = need_of(near.stubs.size());
  p.base = room(p.need);
  if (p.base == 0) return p;
  PlanKey placed_key = placed_plan_key(key, p.base);
  if (stored)
    if (const Placed* known = remembered(placed_key)) return *known;
  p.plan = placed(near, p.base);
  if (p.plan && stored) {
    p.file = store_.store(placed_key, *p.plan);
    remember(placed_key, p);
  }
  return p;
}

Result<PlanCache::CodeFile> PlanCache::code_file(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return make_error("cannot read " + path + ": " + errno_text());
  char id[160];
  snprintf(id, sizeof id, "%llx:%llx:%llx:%lld.%09ld:%lld.%09ld", (unsigned long long)st.st_dev,
           (unsigned long long)st.st_ino, (unsigned long long)st.st_size, (long long)st.st_mtim.tv_sec,
           st.st_mtim.tv_nsec, (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
  if (auto it = files_.find(id); it != files_.end()) return it->second;
  // Kept by the file's identity, when it may be: checked before the read,
  // and the identity again after it.
  ScopedFd fd;
  struct stat held;
  bool keep = !store_.dir().empty() && S_ISREG(st.st_mode) &&
              (fd = ScopedFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC))).is_open() && fstat(fd.get(), &held) == 0 &&
              same_identity(held, st) && settled_file(fd.get(), st, kSettledSeconds);
  PlanKey key;
  // Plans are named by the file's identity only where it has a build id
  // (the code facts are kept either way, as before).
  bool has_build_id = false;
  if (keep) {
    std::string build_id = elf_build_id(fd.get());
    has_build_id = !build_id.empty();
    key = code_facts_key(st, build_id);
    if (std::optional<CodeFacts> stored = store_.load_facts(key)) {
      ++facts_loaded_;
      if (has_build_id) stored->settled = key;
      if (files_.size() >= kMaxEntries) files_.erase(files_.begin());
      return files_[id] = std::move(*stored);
    }
  }
  // Its .text only for the rdrand scan: the counter plans the code as the
  // tracee holds it.
  Result<ElfBytes> elf = read_elf_file(path, true);
  if (!elf.ok()) return elf.error();
  std::string_view bytes = elf.value().view();
  Result<TextSection> text = text_section(bytes);
  if (!text.ok()) return text.error();
  Result<std::vector<AddrRange>> functions = code_ranges(bytes, text.value());
  if (!functions.ok()) return functions.error();
  CodeFile f{text.value(), std::move(functions.value()), is_go_program(bytes), {}};
  if (text.value().offset <= bytes.size() && text.value().size <= bytes.size() - text.value().offset) {
    // Only the functions: data in .text is never patched.
    for (const AddrRange& fn : f.functions) {
      uint64_t off = text.value().offset + (fn.start - text.value().addr);
      const uint8_t* code = reinterpret_cast<const uint8_t*>(bytes.data()) + off;
      for (size_t at : find_random_insns(code, fn.end - fn.start)) f.random_sites.push_back(off + at);
    }
  }
  // Kept only if the file's identity did not move while it was read.
  struct stat after;
  if (keep && fstat(fd.get(), &after) == 0 && same_identity(after, st)) {
    store_.store_facts(key, f);
    if (has_build_id) f.settled = key;
  }
  if (files_.size() >= kMaxEntries) files_.erase(files_.begin());
  return files_[id] = std::move(f);
}

std::optional<CounterSetup> plan_mapped_code(Task& t, const std::string& file_path, const MapEntry& mapping,
                                             const std::vector<MapEntry>& maps, PlanCache& plans) {
  auto skip = [&](const std::string& why) -> std::optional<CounterSetup> {
    RR_LOG("progress counter: the code at 0x%llx (%s) is not rewritten: %s", (unsigned long long)mapping.start.as_int(),
           mapping.name.c_str(), why.c_str());
    return std::nullopt;
  };
  Result<PlanCache::CodeFile> file = plans.code_file(file_path);
  if (!file.ok()) return skip(file.error().message);
  const TextSection& text = file.value().text;
  uint64_t len = mapping.end.as_int() - mapping.start.as_int();
  if (text.offset < mapping.offset || text.offset + text.size > mapping.offset + len)
    return skip("the mapping does not hold all of its .text");
  CounterSetup setup;
  setup.text_start = mapping.start.as_int() + (text.offset - mapping.offset);
  setup.text_end = setup.text_start + text.size;
  std::vector<AddrRange> functions;  // where they are in the tracee
  for (const AddrRange& f : file.value().functions)
    functions.push_back({setup.text_start + (f.start - text.addr), setup.text_start + (f.end - text.addr)});
  // Read from the tracee only where a plan is made, or where the file is
  // not settled and the code's bytes are the plan's key.
  std::optional<std::string> code_read;
  auto code = [&]() -> const std::string& {
    if (!code_read) code_read = t.read_bytes(RemotePtr<>(setup.text_start), text.size);
    return *code_read;
  };
  // Planned once with the stubs as near as they can be, which says how many
  // stub bytes it needs; then the stubs move to where they go. Every stub
  // is within 2 GiB of the code that jumps to it.
  // Go's compiler emits nops that are code (core/branch_rewriter.h).
  bool nops_are_padding = !file.value().go;
  std::optional<PlanKey> file_key;
  if (file.value().settled)
    file_key = plan_key_of_file(*file.value().settled, setup.text_start, text.size, functions, nops_are_padding);
  PlanCache::Placed placed =
      plans.place(code, file_key, setup.text_start, functions, nops_are_padding, [&](uint64_t need) {
        return stub_room(maps, mapping.start.as_int(), setup.text_start, setup.text_end, need);
      });
  if (placed.base == 0) return skip("no room for its stubs within reach");
  uint64_t base = placed.base, need = placed.need;
  if (placed.plan) {
    setup.plan = std::move(placed.plan);
    setup.file = std::move(placed.file);
    setup.settled = file.value().settled;
    return setup;
  }
  // Some branch was out of reach of the first place, or would be of this
  // one: only a plan made here says which ones count.
  setup.plan = std::make_shared<const RewritePlan>(
      sorted_by_address(plan_branch_rewrite(reinterpret_cast<const uint8_t*>(code().data()), code().size(),
                                            setup.text_start, functions, base, need, kCounterSlots, nops_are_padding)));
  return setup;
}

Status map_counter_page(RemoteSyscalls& rs) {
  int64_t page = rs.syscall(SYS_mmap, {kCounterPageAddr, kPageSize, PROT_READ | PROT_WRITE,
                                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, (uint64_t)-1, 0});
  if (page != (int64_t)kCounterPageAddr)
    return make_error("cannot map the progress counter page at 0x" + hex(kCounterPageAddr) + " (" +
                      std::to_string(page) + ")");
  return {};
}

namespace {

// Writes the patches in runs of nearby ones: each run is read once, patched
// here and written back whole. python3's code has 85,000 patches, and a
// write through /proc/PID/mem each took a quarter of the recorder's time
// at its start (the bytes between patches are written as they were: no
// other thread of the tracee runs meanwhile).
Status write_patches(Task& t, const PatchList& list) {
  constexpr uint64_t kRunMax = 64 << 10;  // bytes read and written at once
  constexpr uint64_t kGapMax = 4096;      // patches farther apart start a new run
  // The recorder's plans come sorted (sorted_by_address); sorting python3's
  // 85,000 patches at every install was a tenth of a replay's CPU.
  std::optional<PatchList> resorted;
  if (!list.is_sorted_by_address()) resorted = list.sorted_by_address();
  const PatchList& sorted = resorted ? *resorted : list;
  std::string run;
  for (size_t i = 0; i < sorted.size();) {
    PatchList::Ref first = sorted[i];
    uint64_t start = first.addr, end = start + first.bytes.size();
    size_t j = i + 1;
    for (; j < sorted.size(); ++j) {
      PatchList::Ref next = sorted[j];
      uint64_t next_end = next.addr + next.bytes.size();
      if (next.addr > end + kGapMax || std::max(end, next_end) - start > kRunMax) break;
      end = std::max(end, next_end);
    }
    run.resize(end - start);
    if (!t.read_mem(RemotePtr<>(start), run.data(), run.size()))
      return make_error("cannot read the code at 0x" + hex(start) + " to rewrite its branches");
    for (size_t k = i; k < j; ++k) {
      PatchList::Ref p = sorted[k];
      memcpy(&run[p.addr - start], p.bytes.data(), p.bytes.size());
    }
    if (!t.try_write_mem(RemotePtr<>(start), run.data(), run.size()))
      return make_error("cannot rewrite the branches in [0x" + hex(start) + ", 0x" + hex(end) + ")");
    i = j;
  }
  return {};
}

// Maps `image` over the code it holds, private, as the original was; false
// (logged) if it cannot, and the patches are then written instead. The
// kernel refuses a descriptor or arguments before it removes the mapping a
// MAP_FIXED replaces; a failure after that (no memory) leaves nothing to
// write the patches into, which write_patches then reports.
// `fresh`: where nothing is mapped yet (the stubs' area), which it keeps so.
bool map_code_image(RemoteSyscalls& rs, const CodeImage& image, bool fresh = false) {
  if (image.path.size() >= kRrScratchSize) return false;
  int64_t fd = rs.syscall(SYS_openat, {(uint64_t)AT_FDCWD, rs.scratch_string(image.path).as_int(),
                                       (uint64_t)(O_RDONLY | O_CLOEXEC)});
  if (fd < 0) {
    RR_LOG("progress counter: the code image %s is not mapped: openat failed (%lld)", image.path.c_str(),
           (long long)fd);
    return false;
  }
  int64_t got = rs.syscall(SYS_mmap, {image.start, image.length, (uint64_t)image.prot,
                                      (uint64_t)(MAP_PRIVATE | (fresh ? MAP_FIXED_NOREPLACE : MAP_FIXED)),
                                      (uint64_t)fd, image.offset});
  rs.syscall(SYS_close, {(uint64_t)fd});
  if (got != (int64_t)image.start) {
    RR_LOG("progress counter: the code image %s is not mapped: mmap failed (%lld)", image.path.c_str(),
           (long long)got);
    return false;
  }
  return true;
}

}  // namespace

Status install_rewrite(Task& t, RemoteSyscalls& rs, CounterSetup& setup) {
  if (!setup.plan) return {};
  const RewritePlan& plan = *setup.plan;
  // An image not mapped is dropped, so that the trace names only what the
  // recording mapped (madvise(MADV_DONTNEED) brings back a mapping's file
  // pages: the image's, or the original's).
  uint64_t stubs_len = (plan.stubs.size() + kPageSize - 1) & ~(kPageSize - 1);
  if (setup.stubs_image && !(setup.stubs_image->length == stubs_len && setup.stubs_image->start == plan.stub_base &&
                             map_code_image(rs, *setup.stubs_image, true)))
    setup.stubs_image.reset();
  if (!plan.stubs.empty() && !setup.stubs_image) {
    uint64_t len = stubs_len;
    int64_t got = rs.syscall(SYS_mmap, {plan.stub_base, len, PROT_READ | PROT_EXEC,
                                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, (uint64_t)-1, 0});
    if (got != (int64_t)plan.stub_base)
      return make_error("cannot map the progress counter's stubs at 0x" + hex(plan.stub_base) + " (" +
                        std::to_string(got) + ")");
    if (!t.try_write_mem(RemotePtr<>(plan.stub_base), plan.stubs.data(), plan.stubs.size()))
      return make_error("cannot write the progress counter's stubs");
  }
  if (setup.image && !map_code_image(rs, *setup.image)) setup.image.reset();
  if (!setup.image) RR_TRY(write_patches(t, plan.patches));
  if (plan.spin_sites.empty() && plan.poll_sites.empty()) return {};
  uint64_t count = 0;
  if (!t.read_mem(RemotePtr<>(kSpinSiteCount), &count, sizeof count) || count > kMaxSpinSites)
    return make_error("cannot read the progress counter's spin sites");
  // A poll site's entry keeps the first byte of its branch, which the trap
  // replaces: the recorder and replay decode the branch from it.
  auto add_site = [&](uint64_t site, bool poll) -> Status {
    if (count == kMaxSpinSites) {
      RR_LOG("progress counter: no room for the %s site at 0x%llx", poll ? "poll" : "spin", (unsigned long long)site);
      return {};
    }
    uint64_t entry = site;
    if (poll) {
      uint8_t first = 0;
      if (!t.read_mem(RemotePtr<>(site), &first, 1)) return make_error("cannot read the poll site at 0x" + hex(site));
      entry |= kPollSiteTag | (uint64_t)first << 48;
    }
    if (!t.try_write_mem(RemotePtr<>(kSpinSiteList + 8 * count), &entry, sizeof entry) ||
        !t.try_write_mem(RemotePtr<>(site), &kSpinTrapByte, 1))
      return make_error(std::string("cannot rewrite the ") + (poll ? "poll" : "spin") + " site at 0x" + hex(site));
    ++count;
    return {};
  };
  for (uint64_t site : plan.spin_sites) RR_TRY(add_site(site, false));
  for (uint64_t site : plan.poll_sites) RR_TRY(add_site(site, true));
  if (!t.try_write_mem(RemotePtr<>(kSpinSiteCount), &count, sizeof count))
    return make_error("cannot write the progress counter's spin sites");
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

namespace {

// The stub that starts at `at`, if one does: its size and where it goes on
// to (the counted branch's target).
struct StubAt {
  size_t size = 0;
  uint64_t target = 0;
};
std::optional<StubAt> stub_at(Task& t, uint64_t at) {
  uint8_t head[kStubSize];
  if (!t.read_mem(RemotePtr<>(at), head, kLeanStubSize)) return std::nullopt;
  if (auto to = stub_target_of(head, kLeanStubSize, at, kCounterSlots)) return StubAt{kLeanStubSize, *to};
  if (!t.read_mem(RemotePtr<>(at), head, kStubSize)) return std::nullopt;
  if (auto to = stub_target_of(head, kStubSize, at, kCounterSlots)) return StubAt{kStubSize, *to};
  return std::nullopt;
}

// The stub whose bytes hold `ip` (where it starts, and what it is): stubs
// start 32-byte aligned in their area and are at most 64 bytes long, so
// the two aligned slots at or before `ip` are looked at.
std::optional<std::pair<uint64_t, StubAt>> stub_holding(Task& t, uint64_t ip) {
  uint64_t slot = ip & ~uint64_t(31);
  for (uint64_t start : {slot, slot - 32}) {
    if (start > ip) continue;
    std::optional<StubAt> stub = stub_at(t, start);
    if (stub && ip < start + stub->size) return std::make_pair(start, *stub);
  }
  return std::nullopt;
}

// The stub that the `jmp rel32` at `at` goes to (an island's, or a counted
// near jmp's), if `at` holds one.
std::optional<StubAt> stub_behind_jump(Task& t, uint64_t at) {
  uint8_t jump[5];
  if (!t.read_mem(RemotePtr<>(at), jump, sizeof jump) || jump[0] != 0xe9) return std::nullopt;
  int32_t rel;
  memcpy(&rel, jump + 1, 4);
  return stub_at(t, at + 5 + rel);
}

}  // namespace

std::optional<uint64_t> past_counter_stub(Task& t, uint64_t ip) {
  std::optional<StubAt> stub = stub_at(t, ip);
  if (!stub) stub = stub_behind_jump(t, ip);  // an island
  if (!stub) return std::nullopt;
  return stub->target;
}

bool step_past_counter_stub(Task& t) {
  Registers regs = t.regs();
  std::optional<uint64_t> to = past_counter_stub(t, regs.ip().as_int());
  if (!to) return false;
  regs.set_ip(RemotePtr<>(*to));
  t.set_regs(regs);
  return true;
}

bool in_counter_stub(Task& t, uint64_t ip) {
  // A moved block: its header is right before it, 16-byte aligned, and
  // no block is longer than kMovedBlockMax.
  for (uint64_t b = ip & ~uint64_t(15); b + kMovedBlockMax > ip && b >= kMovedHeaderSize; b -= 16) {
    uint8_t h[kMovedHeaderSize];
    if (t.read_mem(RemotePtr<>(b - kMovedHeaderSize), h, sizeof h) && memcmp(h + 8, kMovedMagic, 7) == 0 &&
        ip < b + h[15])
      return true;
  }
  return stub_holding(t, ip).has_value();
}

bool counter_update_in_flight(Task& t, uint64_t ip) {
  // A lean stub's `sub` is one instruction: never in flight.
  std::optional<std::pair<uint64_t, StubAt>> stub = stub_holding(t, ip);
  if (!stub || stub->second.size != kStubSize) return false;
  uint64_t at = ip - stub->first;
  return at >= kStubCountLoaded && at < kStubCountStored;
}

bool jumps_to_stub(Task& t, uint64_t at) { return stub_behind_jump(t, at).has_value(); }

bool island_hop(Task& t, uint64_t from, uint64_t at) {
  uint8_t insn[2];
  if (!t.read_mem(RemotePtr<>(from), insn, sizeof insn)) return false;
  // jcc, jmp, and loop/loope/loopne/jrcxz: the short branches an island serves.
  bool short_branch = (insn[0] >= 0x70 && insn[0] <= 0x7f) || insn[0] == 0xeb || (insn[0] >= 0xe0 && insn[0] <= 0xe3);
  return short_branch && from + 2 + (int64_t)(int8_t)insn[1] == at && jumps_to_stub(t, at);
}

bool at_counter_trap(Task& t, const Registers& regs) {
  uint64_t ip = regs.ip().as_int();
  if (ip < kStubTrapLookback) return false;
  uint8_t before[kStubTrapLookback];
  if (!t.read_mem(RemotePtr<>(ip - kStubTrapLookback), before, sizeof before)) return false;
  return ends_at_stub_trap(before, kCounterSlots);
}

namespace {
std::vector<uint64_t> site_list(Task& t);
}  // namespace

bool at_spin_site(Task& t, const Registers& regs) {
  std::vector<uint64_t> sites = site_list(t);
  return std::find(sites.begin(), sites.end(), regs.ip().as_int() - 1) != sites.end();
}

namespace {

std::vector<uint64_t> site_list(Task& t) {
  uint64_t count = 0;
  if (!t.read_mem(RemotePtr<>(kSpinSiteCount), &count, sizeof count) || count == 0 || count > kMaxSpinSites) return {};
  std::vector<uint64_t> sites(count);
  if (!t.read_mem(RemotePtr<>(kSpinSiteList), sites.data(), count * sizeof(uint64_t))) return {};
  return sites;
}

}  // namespace

std::optional<PollSite> poll_site_at(Task& t, const Registers& regs) {
  uint64_t at = regs.ip().as_int() - 1;
  for (uint64_t entry : site_list(t)) {
    if (!(entry & kPollSiteTag) || (entry & kSiteAddrMask) != at) continue;
    uint8_t code[6] = {};
    if (!t.read_mem(RemotePtr<>(at), code, sizeof code)) return std::nullopt;
    code[0] = (uint8_t)(entry >> 48);
    PollSite site;
    site.addr = at;
    if (code[0] >= 0x70 && code[0] <= 0x7f) {
      site.cond = code[0] & 0xf;
      site.len = 2;
      site.target = at + 2 + (int64_t)(int8_t)code[1];
    } else if (code[0] == 0x0f && code[1] >= 0x80 && code[1] <= 0x8f) {
      int32_t disp;
      memcpy(&disp, code + 2, 4);
      site.cond = code[1] & 0xf;
      site.len = 6;
      site.target = at + 6 + (int64_t)disp;
    } else {
      return std::nullopt;
    }
    return site;
  }
  return std::nullopt;
}

bool branch_taken(uint8_t cond, uint64_t eflags) {
  bool cf = eflags & 0x1, pf = eflags & 0x4, zf = eflags & 0x40, sf = eflags & 0x80, of = eflags & 0x800;
  bool r = false;
  switch (cond >> 1) {
    case 0: r = of; break;              // jo
    case 1: r = cf; break;              // jb
    case 2: r = zf; break;              // je
    case 3: r = cf || zf; break;        // jbe
    case 4: r = sf; break;              // js
    case 5: r = pf; break;              // jp
    case 6: r = sf != of; break;        // jl
    case 7: r = zf || sf != of; break;  // jle
  }
  return (cond & 1) ? !r : r;  // the odd codes are the negations
}

Registers take_poll_branch(const PollSite& site, Registers regs, bool* taken) {
  *taken = branch_taken(site.cond, regs.raw().eflags);
  regs.set_ip(RemotePtr<>(*taken ? site.target : site.addr + site.len));
  return regs;
}

}  // namespace rr
