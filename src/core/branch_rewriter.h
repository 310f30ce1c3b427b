// BranchRewriter: plans the rewriting of x86-64 code so that every taken
// conditional branch and backward jump it can reach passes through a small
// stub that counts it in the progress counter (core/progress_counter.h) and
// traps when the counter's target is reached. Pure: it reads code bytes and
// returns the bytes to write, so that it can be tested on sample code and
// the recorder can store its result in the trace for replay to apply as is.
// See docs/progress-counter.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/elf_code.h"
#include "util/shared_bytes.h"

namespace rr {

// Where a rewritten process keeps its counter: two 8-byte slots at absolute
// addresses below 2 GiB (stubs address them with a 32-bit displacement).
struct CounterSlots {
  uint64_t remaining = 0;  // counted branches left before the trap (0: never)
  uint64_t saved_rcx = 0;  // the stub's scratch: the program's rcx while it counts
};

// Bytes to write at a tracee address.
struct CodePatch {
  uint64_t addr = 0;
  std::string bytes;
};

// A plan's patches, kept flat as the plan store's files hold them: per
// patch a u64 address, a u64 length and its bytes, one after the other, and
// where each starts. A plan read from a file is a view of that part of it
// (util/shared_bytes.h), copied only to be changed: parsed into one
// CodePatch each, python3's 140,000 patches were a tenth of a recording's
// and of a replay's CPU at every start (allocation, page faults, and
// freeing them at the end).
class PatchList {
 public:
  struct Ref {
    uint64_t addr;
    std::string_view bytes;
  };
  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Ref;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = Ref;
    const_iterator(const PatchList* list, size_t i) : list_(list), i_(i) {}
    Ref operator*() const { return (*list_)[i_]; }
    const_iterator& operator++() { ++i_; return *this; }
    bool operator==(const const_iterator& o) const { return i_ == o.i_; }
    bool operator!=(const const_iterator& o) const { return i_ != o.i_; }

   private:
    const PatchList* list_;
    size_t i_;
  };

  size_t size() const { return at_.size(); }
  bool empty() const { return at_.empty(); }
  Ref operator[](size_t i) const {
    const char* r = raw_.data() + at_[i];
    uint64_t addr, len;
    memcpy(&addr, r, 8);
    memcpy(&len, r + 8, 8);
    return {addr, std::string_view(r + 16, len)};
  }
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, size()}; }
  void push_back(const CodePatch& p);
  // The bytes of patch `i`, to change in place (a relocation); a list that
  // is a view of a file's bytes becomes a copy of its own first.
  char* mutable_bytes(size_t i) { return &raw_.own()[at_[i] + 16]; }
  // The same patches in address order (stable among equal addresses).
  PatchList sorted_by_address() const;
  // (Known after the first call, until a patch is added: every install of
  // a plan asks, cc1's has 600,000 patches.)
  bool is_sorted_by_address() const;
  // The records as a plan file holds them, without their count.
  std::string_view raw() const { return raw_.view(); }
  // `n` records from `*p` on, each checked against `end`; *p moves past them.
  // With `keep`, the list is a view of those bytes, which `keep` keeps
  // alive (a mapped plan file); without, a copy.
  static std::optional<PatchList> parse(const char** p, const char* end, uint64_t n,
                                        std::shared_ptr<const void> keep = nullptr);

 private:
  SharedBytes raw_;
  std::vector<uint32_t> at_;  // where each record starts in raw_ (a plan of 4 GiB is refused)
  mutable int8_t sorted_ = -1;  // is_sorted_by_address(), once known
};

struct RewritePlan {
  PatchList patches;  // into the code: new displacements, jump islands
  uint64_t stub_base = 0;          // where `stubs` goes (an executable mapping of ours)
  SharedBytes stubs;               // one stub per branch target: kStubSize or kLeanStubSize bytes
  size_t counted = 0;              // branches that now count
  size_t lean_stubs = 0;           // stubs that are lean ones (the flags are dead at their target)
  size_t uncovered = 0;            // candidates left as they were (no island in reach, out of range)
  // Branches left uncounted because their stub would have been beyond a
  // 32-bit displacement: a plan with its stubs elsewhere may count them
  // (relocate_plan refuses such a plan). Not kept in the trace.
  size_t out_of_reach = 0;
  // Short branches with no island in reach that count through a moved
  // block instead: the instructions just before the branch, and the
  // branch, are moved into a block among the stubs (a header of
  // kMovedHeaderSize bytes before it names it), and a jump to the block
  // takes their place. Blocks follow every stub, from `blocks_at` on;
  // `outward` holds where, in `stubs`, their 32-bit displacements that aim
  // out of the stub area are (back into the code, rip-relative operands):
  // relocate_plan moves those. Neither is kept in the trace.
  size_t moved = 0;
  size_t blocks_at = 0;
  std::vector<uint32_t> outward;
  // Spin sites: backward jumps whose loop does nothing but nops and pauses
  // (`jmp .`, `pause; jmp .-2`), so that a thread that reaches one stays in
  // it until a signal or its death, with nothing in its state changing.
  // Their first byte becomes kSpinTrapByte (install_rewrite), not a jump to a
  // stub: the thread traps at its first turn and the recorder parks it
  // there instead of counting turns that change nothing.
  std::vector<uint64_t> spin_sites;
  // Poll sites: backward conditional branches left uncounted whose loop only
  // reads (`while (!flag);` at -O0: a load, a test, a 2-byte `je` back), so
  // that once the branch is taken it is taken at every turn until something
  // else changes the memory the loop reads. Their first byte becomes
  // kSpinTrapByte too; the recorder and replay take the branch themselves
  // (core/progress_counter.h, poll_site_at), and a taken one is an event.
  std::vector<uint64_t> poll_sites;
};

// A moved block's header: kMovedHeaderSize bytes right before the block,
// int3s, then kMovedMagic, then the block's length in one byte. Never run;
// it lets a debugger's step tell a block from the program's code.
constexpr size_t kMovedHeaderSize = 16;
constexpr char kMovedMagic[] = "rrMOVED";  // 7 bytes, at offset 8
// The longest a block may be (a run is at most a few bytes and one
// instruction, then a jcc and a jmp: about 30), so that a debugger's step
// looks for a header at most this far back.
constexpr size_t kMovedBlockMax = 48;

// An int3: the byte a spin site's jump begins with once rewritten.
constexpr uint8_t kSpinTrapByte = 0xcc;

// A stub counts one branch and goes on to the branch's target. The full one
// keeps every register and flag of the program (it borrows rcx through the
// counter page); its trap is the int3 at kStubTrapOffset.
constexpr size_t kStubSize = 64;
constexpr size_t kStubTrapOffset = 51;
// Where the full stub's count is in flight: its load of `remaining` into
// rcx ends here, and its store of the count less one ends at the second.
constexpr size_t kStubCountLoaded = 16;
constexpr size_t kStubCountStored = 28;
// The lean one (`sub [remaining], 1; je trap; cmp eax, eax; jmp target`,
// then `int3; jmp target`) sets the status flags to the same values at any
// count, and serves targets whose code writes them before it reads any; its
// trap is the int3 at kLeanStubTrapOffset.
constexpr size_t kLeanStubSize = 32;
constexpr size_t kLeanStubTrapOffset = 18;
// How many bytes before a trap's rip ends_at_stub_trap looks at.
constexpr size_t kStubTrapLookback = 19;

// Plans the rewriting of `len` bytes of a code section found at
// `code_addr`, with stubs laid out from `stub_base` on, at most `stub_room`
// bytes of them. Only `functions` (sorted, disjoint [start, end) addresses
// within the section, core/elf_code.h) are code: each is decoded linearly
// from its start, and the bytes between them are data or padding; the
// padding that directly follows a function may hold islands. Short branches
// (8-bit displacement) reach their stub through a 5-byte jump placed in
// alignment padding within 127 bytes, after an unconditional jump or
// return and on no direct branch's target; those with none in reach stay
// uncounted. Padding is int3s and nops; with `nops_are_padding` false only
// int3s (Go's code: its compiler emits nops as marks of inlined calls,
// which may begin a block its jump tables aim at, and pads between
// functions with int3s).
RewritePlan plan_branch_rewrite(const uint8_t* code, size_t len, uint64_t code_addr,
                                const std::vector<AddrRange>& functions, uint64_t stub_base, size_t stub_room,
                                const CounterSlots& slots, bool nops_are_padding = true);

// The plan `plan_branch_rewrite` makes for the same code with its stubs at
// `stub_base` (and room for them), made from `plan` by moving every
// displacement into and out of the stubs: the decoding and choices are
// done once, and the recorder learns the stubs' size before it chooses
// where they go. nullopt when `plan` left a branch out for want of reach or
// a displacement would no longer fit in 32 bits: then only a new plan says
// what can be counted there.
std::optional<RewritePlan> relocate_plan(const RewritePlan& plan, uint64_t stub_base, const CounterSlots& slots);

// Where the stub at `at` whose first `len` bytes are `head` goes on to (the
// counted branch's target), if they are a stub's for these slots: the first
// kLeanStubSize bytes tell a lean stub's, a full one needs kStubSize.
std::optional<uint64_t> stub_target_of(const uint8_t* head, size_t len, uint64_t at, const CounterSlots& slots);

// Whether the kStubTrapLookback bytes `before` a SIGTRAP's rip are the
// end of a stub's trap (of either kind): then the trap is the counter's.
bool ends_at_stub_trap(const uint8_t* before, const CounterSlots& slots);

}  // namespace rr
