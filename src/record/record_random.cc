// RecordSession, rdrand and rdseed (core/random_insns.h): the instructions
// of the code of files mapped executable become traps, and each trap is an
// event whose value the recorder supplies and replay applies.
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <algorithm>
#include <csignal>

#include "core/elf_code.h"
#include "core/progress_counter.h"
#include "core/random_insns.h"
#include "record/record_session.h"
#include "trace/fpu_digest.h"
#include "util/fatal.h"
#include "util/io.h"

namespace rr {

// The sites of the file at `file_path` (a path the supervisor can open) that
// `m` maps, patched in `t`'s memory; their addresses. The file's sites are
// found once per (device, inode, size, mtime) in a recording, and kept with
// the progress counter's plans between recordings (PlanCache::code_file).
std::vector<uint64_t> RecordSession::patch_random_sites(Task& t, const std::string& file_path, const MapEntry& m) {
  struct stat st;
  if (stat(file_path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return {};
  return patch_sites(t, random_sites_of(file_path, {(uint64_t)st.st_dev, (uint64_t)st.st_ino}, st), m);
}

const RecordSession::RandomSites& RecordSession::random_sites_of(const std::string& file_path,
                                                                 std::pair<uint64_t, uint64_t> id,
                                                                 const struct stat& st) {
  int64_t mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
  RandomSites& sites = random_sites_[id];
  if (sites.size != (int64_t)st.st_size || sites.mtime_ns != mtime_ns) {
    sites = RandomSites{(int64_t)st.st_size, mtime_ns, {}};
    Result<PlanCache::CodeFile> code = plans_.code_file(file_path);
    if (code.ok())
      sites.offsets = code.value().random_sites;
    else
      RR_LOG("rdrand/rdseed: %s is not looked at: %s", file_path.c_str(), code.error().message.c_str());
  }
  return sites;
}

std::vector<uint64_t> RecordSession::patch_sites(Task& t, const RandomSites& sites, const MapEntry& m) {
  std::vector<uint64_t> patched;
  uint64_t len = m.end.as_int() - m.start.as_int();
  for (uint64_t off : sites.offsets) {
    if (off < m.offset || off - m.offset >= len) continue;
    uint64_t addr = m.start.as_int() + (off - m.offset);
    // Only where the memory holds what the file does (as replay checks too).
    if (!install_random_trap(t, addr)) continue;
    RR_LOG("rdrand/rdseed at 0x%llx (%s) traps", (unsigned long long)addr - 1, m.name.c_str());
    patched.push_back(addr);
  }
  return patched;
}

std::optional<std::pair<uint64_t, uint64_t>> RecordSession::image_origin(const MapEntry& m) const {
  std::optional<std::string> name = images_.image_named(m.name);
  if (!name) return std::nullopt;
  auto it = image_origin_.find(*name);
  if (it == image_origin_.end()) return std::nullopt;
  return it->second;
}

// After each execve: the code the kernel mapped (the executable and the
// dynamic loader).
Status RecordSession::install_random_sites(RecordTask& rt, trace::ExecImage::Builder out) {
  Task& t = *rt.task;
  std::string proc = "/proc/" + std::to_string(t.tid());
  std::vector<uint64_t> all;
  for (const MapEntry& m : read_maps(t.tid())) {
    if (!rewritable_code(m)) continue;
    // A code image's sites are its original's, found before it was mapped
    // (a stubs image has none).
    std::vector<uint64_t> got;
    if (images_.image_named(m.name)) {
      std::optional<std::pair<uint64_t, uint64_t>> origin = image_origin(m);
      auto found = origin ? random_sites_.find(*origin) : random_sites_.end();
      if (found != random_sites_.end()) got = patch_sites(t, found->second, m);
    } else {
      got = patch_random_sites(t, map_file_path(proc, m), m);
    }
    all.insert(all.end(), got.begin(), got.end());
  }
  if (all.empty()) return {};
  auto list = out.initRandomSites(all.size());
  for (size_t i = 0; i < all.size(); ++i) list.set(i, all[i]);
  return {};
}

// At the exit of an mmap of a file that made executable code (a library).
void RecordSession::patch_mapped_random(RecordTask& rt, const SyscallArgs& call, const std::string& fd_path,
                                        trace::SyscallEvent::Builder sc) {
  MapEntry m = file_mapping_made_by(call, "");
  if (!rewritable_code(m)) return;
  std::vector<uint64_t> got = patch_random_sites(*rt.task, fd_path, m);
  if (got.empty()) return;
  auto list = sc.initRandomSites(got.size());
  for (size_t i = 0; i < got.size(); ++i) list.set(i, got[i]);
}

// A SIGILL at one of the sites patch_random_sites made: the instruction's
// result, from the recorder's own source of randomness, is written where
// the instruction would have put it and recorded. Any other SIGILL (a ud2 of
// the program's, at an address no patch made) is the program's.
bool RecordSession::try_emulate_random(RecordTask& rt, const siginfo_t& si) {
  if (si.si_signo != SIGILL || random_sites_.empty()) return false;
  Task& t = *rt.task;
  Registers regs = t.regs();
  uint8_t bytes[8] = {};
  if (!t.read_mem(regs.ip(), bytes, sizeof(bytes))) return false;
  std::optional<RandomInsn> insn = decode_random_trap(bytes, sizeof(bytes));
  if (!insn) return false;
  uint64_t patched = regs.ip().as_int() + insn->len - 2;
  bool ours = false;
  for (const MapEntry& m : read_maps(t.tid())) {
    if (patched < m.start.as_int() || patched >= m.end.as_int()) continue;
    // A code image's sites are its original's; a mapping of the store's
    // that this recording did not make (a recording inside it, sharing the
    // store) had its own sites found by its own identity.
    std::pair<uint64_t, uint64_t> id = image_origin(m).value_or(std::make_pair(m.dev, m.inode));
    auto it = random_sites_.find(id);
    uint64_t off = m.offset + (patched - m.start.as_int());
    ours = m.inode != 0 && it != random_sites_.end() &&
           std::binary_search(it->second.offsets.begin(), it->second.offsets.end(), off);
    break;
  }
  if (!ours) return false;
  uint64_t value = 0;
  if (getrandom(&value, sizeof(value), 0) != sizeof(value)) fatal_errno("getrandom for an emulated rdrand");
  capnp::MallocMessageBuilder msg;
  auto frame = new_frame(msg, t.tid());
  auto ev = frame.initRdtsc();
  regs_to_capnp(regs, ev.initRegs());
  ev.setTsc(value);
  ev.setRandom(true);
  frame.setFpuDigest(fpu_digest(t));
  undo_forced_segv(rt, ev, SIGILL);
  apply_random(regs, *insn, value);
  t.set_regs(regs);
  rt.last_event_regs = regs;
  Status st = finish_frame(msg);
  if (!st.ok()) fatal(st.error().message);
  return true;
}

}  // namespace rr
