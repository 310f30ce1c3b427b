// The canonical state of a tracee tree at an event, as `rr state` prints
// it (replay/state.h gathers a replay's, record/record_state.cc the
// recorder's): per task the registers and a hash of the FPU/SSE/AVX
// registers, per mapping its range, permissions, name and a hash of its
// contents, the fd table and the replay's counters.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <sys/types.h>
#include <vector>

#include "core/address_space.h"
#include "core/registers.h"

namespace rr {

class FdTable;
class Task;

// Counters the supervisor keeps during replay; part of `rr state`.
struct ReplayCounters {
  uint64_t syscalls = 0;
  uint64_t emulated = 0;
  uint64_t executed = 0;
  uint64_t signals = 0;
  uint64_t rdtsc = 0;
  uint64_t bytes_written = 0;  // tracee memory written from the trace
};

// One mapping as the state prints it (adjacent pieces of one logical
// mapping merged).
struct MappingState {
  RemotePtr<> start, end;
  std::string perms;
  uint64_t offset;
  std::string name;
  uint64_t hash;
  // How its pages are read for the hash (see hash_range).
  Backing backing;
  bool shared;
  std::string file;  // for File: the file it maps, relative to the trace or absolute
  int pkey = 0;      // the protection key its pages are tagged with (pkey_mprotect)
};

// How a live mapping prints and is read: its backing, the name printed, and
// for File the file holding its bytes (relative to the trace or absolute).
struct MappingName {
  Backing backing = Backing::Anonymous;
  std::string name;
  std::string file;
  // A shared mapping that replay makes private (a file it does not emulate:
  // nothing writes it), printed as such.
  bool as_private = false;
};
using MappingNamer = std::function<MappingName(const MapEntry&)>;

struct StateTask {
  pid_t tid;
  Registers regs;
  uint64_t fpu;
  const char* waiting;  // inside the kernel, no registers: where (else nullptr)
};
struct StateProcess {
  pid_t pid;
  std::vector<StateTask> tasks;
  std::vector<MappingState> maps;
  const FdTable* fds;
};
// Everything `rr state` prints, gathered.
struct StateView {
  uint64_t event = 0;
  bool exited = false;
  int exit_code = 0;
  int killed_by = 0;
  std::map<pid_t, StateProcess> procs;  // by recorded pid
  ReplayCounters counters;
};

std::string format_state(const StateView& view, bool json);
// The mappings of the process `t` belongs to, named by `namer`, with the
// hashes of their contents (file pages not in memory read from the trace
// in `trace_dir`, or from the absolute file the namer gives).
// Bytes to be read at some addresses instead of the process's own (a
// writer that is not a replay stands for replay's values of rr's own pages
// this way), by address; the pieces do not overlap and are shorter than a
// page.
using MemoryOverlay = std::map<uint64_t, std::string>;
// Whether a piece of `overlay` falls in the `pages` pages from `at`.
bool overlay_touches(const MemoryOverlay& overlay, uint64_t at, size_t pages);
// The page at `at` (`page`, or zeros when null) with the overlay's pieces
// in it: `page` itself when none falls there, else `patched`'s bytes.
const uint8_t* overlay_page(const MemoryOverlay& overlay, uint64_t at, const uint8_t* page,
                            std::vector<uint8_t>& patched);
std::vector<MappingState> mapping_states(Task& t, const std::string& trace_dir, const MappingNamer& namer,
                                         const MemoryOverlay* overlay = nullptr);
// A hash of the architectural FPU/SSE/AVX state of `t` (and PKRU).
uint64_t fpu_hash(Task& t);
// The same for an XSAVE area as PTRACE_GETREGSET NT_X86_XSTATE gives it.
uint64_t fpu_hash(std::string xsave);

}  // namespace rr
