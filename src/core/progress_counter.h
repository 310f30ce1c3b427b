// The software progress counter of a tracee process (docs/progress-counter.md):
// a page of ours holding how many counted branches a thread may still take
// before it traps, and stubs that every covered taken branch of the program
// passes through. Only one tracee thread runs at a time, so the threads of a
// process share the page: the recorder and replay set it for the thread they
// are about to run. Record plans the rewriting of the code of every image
// (the executable and the dynamic loader at execve, shared libraries at their
// mmap); record and replay apply the same plan (replay reads it from the
// trace).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/address_space.h"
#include "core/branch_rewriter.h"
#include "core/code_image.h"
#include "core/elf_code.h"
#include "core/plan_store.h"
#include "core/registers.h"
#include "core/rr_page.h"
#include "core/task.h"
#include "util/result.h"

namespace rr {

class RemoteSyscalls;

// Near the rr page, below 2 GiB, so that stubs reach it with 32-bit
// absolute addresses; not next to the rr scratch page, with which the kernel
// would merge it into one mapping that is then neither the rr page's nor ours.
constexpr uint64_t kCounterPageAddr = kRrPageAddr + 0x10000;
constexpr CounterSlots kCounterSlots{kCounterPageAddr, kCounterPageAddr + 8};
// The rest of the page lists the process's spin sites (RewritePlan::
// spin_sites): how many at +16, their addresses from +24 on. It is memory of
// the process, so a fork copies it and an exec starts a new one.
constexpr uint64_t kSpinSiteCount = kCounterPageAddr + 16;
constexpr uint64_t kSpinSiteList = kCounterPageAddr + 24;
constexpr uint64_t kMaxSpinSites = (kPageSize - 24) / 8;
// A poll site's entry in that list (RewritePlan::poll_sites): its address,
// the first byte of its branch at bits 48-55 (the int3 took its place), and
// this tag.
constexpr uint64_t kPollSiteTag = 1ull << 56;
constexpr uint64_t kSiteAddrMask = (1ull << 48) - 1;
// The most stub bytes one code section gets (256 Ki branch targets), placed
// in the free room nearest below it.
constexpr uint64_t kStubAreaMax = 16ull << 20;

// The rewriting of one code section of a process and where it applies.
// The plan is shared, never copied: python3's is 4.7 MB (its stubs and
// 85,000 patches), and every process of a recording that maps the same
// code at the same place uses the same one.
struct CounterSetup {
  std::shared_ptr<const RewritePlan> plan;
  uint64_t text_start = 0, text_end = 0;
  // The plan store's file that holds `plan`, when there is one: the trace
  // links it instead of writing the plan again.
  std::optional<StoredPlanFile> file;
  // The identity of the file whose code it is, when that file is settled
  // (PlanCache::code_file): what a code image may be made from.
  std::optional<PlanKey> settled;
  // The image install_rewrite maps over the code instead of writing the
  // patches (core/code_image.h), when there is one.
  std::optional<CodeImage> image;
  // The same for the stubs: mapped at the stub base instead of an
  // anonymous area the stubs are written into.
  std::optional<CodeImage> stubs_image;
};

// Plans made before in one recording. Every process maps the loader, libc
// and its executable at the same addresses (ASLR is off), and planning
// libc's code takes tens of milliseconds, which a shell script that runs
// hundreds of programs paid at every execve. A plan is a function of the
// code's bytes and of where the code and its stubs are; the stubs can be
// moved (relocate_plan), so one plan made for the same bytes (compared
// whole) at the same address serves wherever the stubs go.
class PlanCache {
 public:
  // Plans are also looked for in `store`, and the ones made here are
  // written to it (core/plan_store.h): the recorder's, across recordings.
  void keep_in(PlanStore store) { store_ = std::move(store); }
  // The plan of `code` at `code_addr` whose `functions` are code, with its
  // stubs as near below the code as they can be (kStubAreaMax bytes below
  // it at most): what plan_mapped_code moves to where the stubs go.
  // `nops_are_padding` as for plan_branch_rewrite.
  const RewritePlan& plan(const std::string& code, uint64_t code_addr, const std::vector<AddrRange>& functions,
                          bool nops_are_padding);
  // `near` (a plan this cache returned) with its stubs moved to
  // `stub_base` (relocate_plan), kept with it: every process of a
  // recording that maps the same code puts its stubs at the same place.
  std::shared_ptr<const RewritePlan> placed(const RewritePlan& near, uint64_t stub_base);
  // The plan of `code` (as plan()'s) with its stubs at the place `room`
  // gives for the stub bytes it needs (page-rounded; room returns 0 for
  // none): from this recording's plans, else from the store's placed plans
  // (whose stub size the store's plan tells without being read whole),
  // else moved here (placed()) and stored. `base` 0: no room; `plan` null:
  // the plan could not move there (plan_mapped_code plans there anew).
  struct Placed {
    uint64_t base = 0, need = 0;
    std::shared_ptr<const RewritePlan> plan;
    std::optional<StoredPlanFile> file;
  };
  Placed place(const std::string& code, uint64_t code_addr, const std::vector<AddrRange>& functions,
               bool nops_are_padding, const std::function<uint64_t(uint64_t need)>& room);
  // The same with the code read only where it is needed: `code` reads it;
  // `file_key` (plan_key_of_file), when there is one, names the stored
  // plans instead of the code's bytes, so that a plan found in the store
  // costs no read of the code.
  Placed place(const std::function<const std::string&()>& code, const std::optional<PlanKey>& file_key,
               uint64_t code_addr, const std::vector<AddrRange>& functions, bool nops_are_padding,
               const std::function<uint64_t(uint64_t need)>& room);
  // How many plans were made (not found here nor in the store), and how
  // many were read from the store: a test's measure.
  size_t made() const { return made_; }
  size_t loaded() const { return loaded_; }
  size_t facts_loaded() const { return facts_loaded_; }  // code facts read from the store

  // What plan_mapped_code and the rdrand scan read of an ELF file
  // (core/plan_store.h). The file's, once per file and recording (by its
  // device, inode, size and times: python3's 6.8 MB and cc1's 30 MB were
  // read at every exec), and from the store once the file's times are
  // settled (kSettledSeconds), where the first recording to read it keeps
  // them.
  using CodeFile = CodeFacts;
  Result<CodeFile> code_file(const std::string& path);
  // Code facts are kept in the store only for files whose times are this
  // old (settled_file).
  static constexpr int64_t kSettledSeconds = 10;

 private:
  struct Entry {
    std::string code;
    uint64_t code_addr = 0;
    std::vector<AddrRange> functions;
    bool nops_are_padding = true;
    RewritePlan plan;
    std::optional<std::pair<uint64_t, std::shared_ptr<const RewritePlan>>> placed;  // the latest placed(plan, base)
  };
  const RewritePlan& near_plan(const std::string& code, uint64_t code_addr, const std::vector<AddrRange>& functions,
                               bool nops_are_padding, const PlanKey& key);
  std::vector<Entry> entries_;  // the latest last; at most kMaxEntries
  std::vector<std::pair<PlanKey, Placed>> placed_;  // place()'s with the store, by placed key; the latest last
  size_t made_ = 0, loaded_ = 0, facts_loaded_ = 0;
  PlanStore store_{""};
  std::map<std::string, CodeFile> files_;  // by the file's identity
  static constexpr size_t kMaxEntries = 64;
};

// Plans the rewriting of the .text section of the ELF file at `file_path` (a
// path the supervisor can open), where `mapping` of `t`'s process holds
// that section, with the stubs in the free room nearest below it (`maps`:
// the process's mappings now). nullopt when there is nothing to rewrite:
// the file is no ELF file with a .text section, the mapping does not hold
// all of it, nothing says which of its bytes are code (core/elf_code.h), or
// no room for stubs is in reach (the reason is logged).
std::optional<CounterSetup> plan_mapped_code(Task& t, const std::string& file_path, const MapEntry& mapping,
                                             const std::vector<MapEntry>& maps, PlanCache& plans);

// The highest `len` bytes (page-aligned) of address space no mapping of
// `maps` uses, nor the range `also_taken` ([start, end); empty by default),
// that end at or below `below` and start at or above `lowest`; 0 when
// there are none. Where the stubs of code at `below` go.
uint64_t free_room_below(const std::vector<MapEntry>& maps, uint64_t below, uint64_t lowest, uint64_t len,
                         std::pair<uint64_t, uint64_t> also_taken = {0, 0});

// Where `need` bytes of stubs go for the code section [text_start,
// text_end) of the mapping that starts at `mapping_start`, every stub
// within 2 GiB of every branch: the highest room below the mapping where
// there is some; else, for code below rr's pages (linked at a fixed low
// address: a non-PIE program, cc1 at 0x400000 with 20 MB of code, Go's
// programs), the highest room above the code within 2 GiB less
// kStubAreaMax of its first byte, as far as can be from the heap that brk
// grows up from its data. rr's own fixed pages (the rr page, the counter
// page, the syscall buffer) count as taken, mapped yet or not. 0 when
// there is no room.
uint64_t stub_room(const std::vector<MapEntry>& maps, uint64_t mapping_start, uint64_t text_start, uint64_t text_end,
                   uint64_t need);

// Whether a mapping is one whose code the counter rewrites: executable,
// private, backed by a file.
bool rewritable_code(const MapEntry& m);

// Maps the counter page of `t`'s process (once per image, after execve).
Status map_counter_page(RemoteSyscalls& rs);

// Maps the stub area and writes the stubs and the code patches (or maps
// `setup`'s images of them, and drops from it the ones it cannot map), and
// turns the spin sites into traps while the page's list has room for them
// (the others stay as they were, uncounted): the same in record and replay.
Status install_rewrite(Task& t, RemoteSyscalls& rs, CounterSetup& setup);

// The thread about to run traps after `ticks` more counted branches (0:
// not before 2^64 of them). False when the process has no counter page
// (an image of a trace older than format 1.14 that execed after the first).
bool arm_counter(Task& t, uint64_t ticks);

// Counted branches left before the trap, or nullopt without a counter page.
std::optional<uint64_t> counter_remaining(Task& t);

// Whether a thread stopped at `ip` is inside a full stub between its load of
// the count and its store of the count less one: a count written into the
// counter page now would be written over by the stub.
bool counter_update_in_flight(Task& t, uint64_t ip);

// Where a thread standing at `ip`, an island or a stub's first instruction,
// comes out of the stub: the target of the counted branch it took. A
// tracer inside the recording that single-steps its tracee over a taken
// counted branch sees it land there, as it would natively: the recorder and
// replay both move the tracee's rip so after such a step (the branch is
// then not counted, in both).
std::optional<uint64_t> past_counter_stub(Task& t, uint64_t ip);
// Moves a thread that a tracer's single step left at an island or a stub's
// first instruction to where the stub goes on to; whether it did.
bool step_past_counter_stub(Task& t);

// For a debugger stepping the replay instruction by instruction (gdb's
// stepi, next, reverse-stepi), where the counter's own code lies on the
// way: such steps go on until they are back in the program's code.
// Whether `ip` is inside one of the counter's stubs or moved blocks (any
// of their instructions). Stubs start 32-byte aligned in their area, so
// the two aligned slots at or before `ip` are looked at; a block is named by
// its header.
bool in_counter_stub(Task& t, uint64_t ip);
// Whether `at` holds a `jmp rel32` to a stub: an island, or a counted
// near jmp of the program's (the bytes do not tell which).
bool jumps_to_stub(Task& t, uint64_t at);
// Whether a step from `from` that stopped at `at` took a counted short
// branch into its island: the instruction at `from` is a short jcc or jmp
// aiming at `at`, and `at` jumps to a stub.
bool island_hop(Task& t, uint64_t from, uint64_t at);

// Whether a SIGTRAP stop with registers `regs` is the counter's trap.
bool at_counter_trap(Task& t, const Registers& regs);

// Whether a SIGTRAP stop with registers `regs` is the trap of one of the
// process's spin sites (rip just after its int3).
bool at_spin_site(Task& t, const Registers& regs);

// A poll site's conditional branch, as it was before its trap replaced it.
struct PollSite {
  uint64_t addr = 0;    // the branch
  uint64_t target = 0;  // where it goes when taken (the loop's top)
  uint8_t len = 0;      // its length (2 or 6)
  uint8_t cond = 0;     // its condition code (the low nibble of the opcode)
};

// The poll site whose trap stopped a thread with registers `regs` (rip just
// after its int3), if that is one.
std::optional<PollSite> poll_site_at(Task& t, const Registers& regs);

// Whether a jcc of condition code `cond` is taken with these flags.
bool branch_taken(uint8_t cond, uint64_t eflags);

// The registers after the thread made `site`'s branch from `regs`, and
// whether it was taken: the recorder and replay both take it so.
Registers take_poll_branch(const PollSite& site, Registers regs, bool* taken);

}  // namespace rr
