// The branch rewriter of the progress counter (core/branch_rewriter.h): what
// it changes in sample code, and the rewritten code run in this process,
// counting exactly its taken branches, keeping the flags and rcx, and
// trapping at the armed count.
#include "core/branch_rewriter.h"

#include <gtest/gtest.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>

namespace rr {
namespace {

// int count_up(int n): counts eax from 1 to n and returns n + n (ecx holds n
// throughout). Per loop turn below n two short branches are taken (the
// second tests the flags of the cmp once more, after the first went through
// a stub); at n the exit branch is taken: 2n - 1 taken branches.
const uint8_t kLoop[] = {
    0x31, 0xc0,        // 00 xor eax, eax
    0x89, 0xf9,        // 02 mov ecx, edi
    0x31, 0xd2,        // 04 xor edx, edx
    0xff, 0xc0,        // 06 L: inc eax
    0x39, 0xf8,        // 08 cmp eax, edi
    0x7d, 0x06,        // 0a jge done (0x12)
    0x7c, 0x02,        // 0c jl M (0x10)
    0x0f, 0x0b,        // 0e ud2
    0x7c, 0xf4,        // 10 M: jl L (0x06): the flags of the cmp, after a stub
    0x01, 0xc8,        // 12 done: add eax, ecx
    0xc3,              // 14 ret
    0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,  // 15 padding: three islands
    0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
};

constexpr uint64_t kSlotsPage = 0x70002000;
constexpr CounterSlots kSlots{kSlotsPage, kSlotsPage + 8};

// Where a stub of either kind jumps on to (its last jmp rel32).
uint64_t stub_target(const RewritePlan& plan, uint64_t stub) {
  size_t at = stub - plan.stub_base;
  bool lean = (uint8_t)plan.stubs[at] == 0x48 && (uint8_t)plan.stubs[at + 1] == 0x83;
  size_t end = at + (lean ? kLeanStubTrapOffset + 6 : kStubTrapOffset + 6);
  int32_t rel;
  memcpy(&rel, plan.stubs.data() + end - 4, 4);
  return plan.stub_base + end + rel;
}

// The whole sample as one function.
std::vector<AddrRange> whole(uint64_t at, size_t len) { return {{at, at + len}}; }

// The .text of an ELF file and its functions, as if mapped at code_addr.
struct FileText {
  std::string elf;
  TextSection text;
  uint64_t code_addr = 0;
  std::vector<AddrRange> functions;
  const uint8_t* code() const { return reinterpret_cast<const uint8_t*>(elf.data() + text.offset); }
};
// Reads `path` into *out; what went wrong, or "".
std::string read_file_text(const std::string& path, FileText* out) {
  std::ifstream f(path, std::ios::binary);
  out->elf.assign(std::istreambuf_iterator<char>(f), {});
  Result<TextSection> text = text_section(out->elf);
  if (!text.ok()) return text.error().message;
  out->text = text.value();
  Result<std::vector<AddrRange>> ranges = code_ranges(out->elf, out->text);
  if (!ranges.ok()) return ranges.error().message;
  out->code_addr = 0x7ffff0000000 + (out->text.addr & 0xfff);
  for (const AddrRange& r : ranges.value())
    out->functions.push_back({out->code_addr + (r.start - out->text.addr), out->code_addr + (r.end - out->text.addr)});
  return "";
}

TEST(BranchRewriter, RetargetsShortBranchesThroughIslands) {
  RewritePlan plan = plan_branch_rewrite(kLoop, sizeof kLoop, 0x401000, whole(0x401000, sizeof kLoop), 0x300000, 1 << 20, kSlots);
  EXPECT_EQ(plan.counted, 3u);
  EXPECT_EQ(plan.uncovered, 0u);
  // L (inc; cmp) and done (add) write the flags before reading them: lean
  // stubs; M's jl reads the cmp's flags: a full one.
  EXPECT_EQ(plan.lean_stubs, 2u);
  ASSERT_EQ(plan.stubs.size(), 2 * kLeanStubSize + kStubSize);
  // Each short branch gets a new displacement byte and an island: a jmp
  // rel32 to its stub in the padding after the ret. Backward branches are
  // served first: the loop's jl L gets the first island and stub.
  ASSERT_EQ(plan.patches.size(), 6u);
  EXPECT_EQ(plan.patches[0].addr, 0x401015u);  // the island
  EXPECT_EQ((uint8_t)plan.patches[0].bytes[0], 0xe9);
  EXPECT_EQ(plan.patches[1].addr, 0x401011u);  // jl L's displacement
  EXPECT_EQ((int8_t)plan.patches[1].bytes[0], 0x15 - 0x12);
  int32_t rel;
  memcpy(&rel, plan.patches[0].bytes.data() + 1, 4);
  EXPECT_EQ(0x40101au + rel, 0x300000u);  // the first stub
  EXPECT_EQ(stub_target(plan, 0x300000), 0x401006u);  // which goes on to L
  EXPECT_EQ(stub_target(plan, 0x300000 + kLeanStubSize), 0x401012u);  // then done's
  EXPECT_EQ(stub_target(plan, 0x300000 + 2 * kLeanStubSize), 0x401010u);  // then M's
  // Both kinds end their trap where at_counter_trap looks for it.
  const uint8_t* stubs = reinterpret_cast<const uint8_t*>(plan.stubs.data());
  EXPECT_TRUE(ends_at_stub_trap(stubs + kLeanStubTrapOffset + 1 - kStubTrapLookback, kSlots));
  EXPECT_TRUE(ends_at_stub_trap(stubs + 2 * kLeanStubSize + kStubTrapOffset + 1 - kStubTrapLookback, kSlots));
  EXPECT_FALSE(ends_at_stub_trap(stubs + 2 * kLeanStubSize + kStubTrapOffset - kStubTrapLookback, kSlots));
  EXPECT_FALSE(ends_at_stub_trap(stubs + kLeanStubSize - kStubTrapLookback, kSlots));
}

TEST(BranchRewriter, LeanStubsWhereTheFlagsAreDead) {
  // Each jne goes forward to a sequence that starts at a ret (0x1f). Which
  // targets let their stub change the flags:
  const uint8_t code[] = {
      0x0f, 0x85, 0x1b, 0x00, 0x00, 0x00,  // 00 jne 0x21: cmp (writes all)
      0x0f, 0x85, 0x19, 0x00, 0x00, 0x00,  // 06 jne 0x25: inc (not CF), then adc (reads CF)
      0x0f, 0x85, 0x17, 0x00, 0x00, 0x00,  // 0c jne 0x29: shl by cl (maybe writes none), then sete
      0x0f, 0x85, 0x16, 0x00, 0x00, 0x00,  // 12 jne 0x2e: jmp to 0x21 (followed)
      0x0f, 0x85, 0x12, 0x00, 0x00, 0x00,  // 18 jne 0x30: a call (the callee may make a syscall first)
      0xc3,                                // 1e ret
      0xc3,                                // 1f ret (M: a return may hand back flags)
      0xcc,                                // 20
      0x39, 0xf8, 0xeb, 0xfa,              // 21 cmp eax, edi; jmp 1f
      0xff, 0xc0, 0x11, 0xc8,              // 25 inc eax; adc eax, ecx
      0xd3, 0xe0, 0x0f, 0x94, 0xc0,        // 29 shl eax, cl; sete al
      0xeb, 0xf1,                          // 2e jmp 21
      0xe8, 0xea, 0xff, 0xff, 0xff,        // 30 call 1f
      0x0f, 0x85, 0xe4, 0xff, 0xff, 0xff,  // 35 jne 0x1f: ret first
  };
  RewritePlan plan = plan_branch_rewrite(code, sizeof code, 0x500000, whole(0x500000, sizeof code), 0x400000, 1 << 20, kSlots);
  EXPECT_EQ(plan.counted, 6u);  // the six jne (the two short jmps back find no island)
  std::map<uint64_t, bool> lean;  // by target
  for (size_t at = 0; at < plan.stubs.size();) {
    bool is_lean = (uint8_t)plan.stubs[at] == 0x48 && (uint8_t)plan.stubs[at + 1] == 0x83;
    lean[stub_target(plan, plan.stub_base + at)] = is_lean;
    at += is_lean ? kLeanStubSize : kStubSize;
  }
  EXPECT_EQ(lean, (std::map<uint64_t, bool>{{0x50001f, false}, {0x500021, true}, {0x500025, false},
                                            {0x500029, false}, {0x50002e, true}, {0x500030, false}}));
  EXPECT_EQ(plan.lean_stubs, 2u);
}

// The recorder's nudge (core/progress_counter.h, counter_update_in_flight)
// knows where a full stub holds the count in rcx: after the load of
// `remaining` and before the store of the count less one.
TEST(BranchRewriter, FullStubsLoadAndStoreTheCountWhereTheRecorderLooks) {
  RewritePlan plan = plan_branch_rewrite(kLoop, sizeof kLoop, 0x401000, whole(0x401000, sizeof kLoop), 0x300000, 1 << 20, kSlots);
  size_t full = 0;
  for (size_t at = 0; at < plan.stubs.size();) {
    const uint8_t* stub = reinterpret_cast<const uint8_t*>(plan.stubs.data()) + at;
    bool lean = stub[0] == 0x48 && stub[1] == 0x83;
    if (!lean) {
      ++full;
      const uint8_t load[] = {0x48, 0x8b, 0x0c, 0x25}, store[] = {0x48, 0x89, 0x0c, 0x25};
      EXPECT_EQ(memcmp(stub + kStubCountLoaded - 8, load, 4), 0) << "mov rcx, [remaining] ends at kStubCountLoaded";
      EXPECT_EQ(memcmp(stub + kStubCountStored - 8, store, 4), 0) << "mov [remaining], rcx ends at kStubCountStored";
      uint32_t slot = 0;
      memcpy(&slot, stub + kStubCountLoaded - 4, 4);
      EXPECT_EQ(slot, kSlots.remaining);
      memcpy(&slot, stub + kStubCountStored - 4, 4);
      EXPECT_EQ(slot, kSlots.remaining);
    }
    at += lean ? kLeanStubSize : kStubSize;
  }
  EXPECT_GT(full, 0u);
}

TEST(BranchRewriter, BranchesToOneTargetShareAStubAndAnIsland) {
  // 0: jne 0x0a; 2: jl 0x0a; 4: jg near 0x0a; 0a: ret; 0b: padding
  const uint8_t code[] = {0x75, 0x08, 0x7c, 0x06, 0x0f, 0x8f, 0x00, 0x00, 0x00, 0x00, 0xc3,
                          0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc};
  RewritePlan plan = plan_branch_rewrite(code, sizeof code, 0x401000, whole(0x401000, sizeof code), 0x300000, 1 << 20, kSlots);
  EXPECT_EQ(plan.counted, 3u);
  EXPECT_EQ(plan.stubs.size(), kStubSize);  // a ret at the target: the flags may be live
  EXPECT_EQ(plan.patches.size(), 4u);  // three displacements, one island
}

TEST(BranchRewriter, NearBranchesGetANewDisplacement) {
  // 0: cmp edi, 0; 3: jne near +0x10; 9: ret
  const uint8_t code[] = {0x83, 0xff, 0x00, 0x0f, 0x85, 0x10, 0x00, 0x00, 0x00, 0xc3};
  RewritePlan plan = plan_branch_rewrite(code, sizeof code, 0x500000, whole(0x500000, sizeof code), 0x400000, 1 << 20, kSlots);
  ASSERT_EQ(plan.counted, 1u);
  ASSERT_EQ(plan.patches.size(), 1u);
  EXPECT_EQ(plan.patches[0].addr, 0x500005u);
  int32_t rel;
  memcpy(&rel, plan.patches[0].bytes.data(), 4);
  EXPECT_EQ(0x500009 + (int64_t)rel, 0x400000);
  // The stub jumps on to the original target, 0x500019.
  EXPECT_EQ(stub_target(plan, 0x400000), 0x500019u);
}

TEST(BranchRewriter, LeavesWhatItCannotReachOrRead) {
  // A short loop with no padding after an unconditional end (no island),
  // whose branch and the instruction before it are shorter than a jump and
  // come after a call, which cannot move: `L: call; test eax, eax; je L`.
  const uint8_t tight[] = {0xe8, 0x00, 0x00, 0x00, 0x00, 0x85, 0xc0, 0x74, 0xf7, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90};
  RewritePlan plan = plan_branch_rewrite(tight, sizeof tight, 0x600000, whole(0x600000, sizeof tight), 0x500000, 1 << 20, kSlots);
  EXPECT_EQ(plan.counted, 0u);
  EXPECT_EQ(plan.uncovered, 1u);
  EXPECT_TRUE(plan.patches.empty());
  // Bytes that do not decode (0x06 is invalid in 64-bit mode): a near jcc
  // right after them may be a misreading of data and is left alone.
  const uint8_t after_junk[] = {0x06, 0x0f, 0x85, 0x10, 0x00, 0x00, 0x00, 0xc3};
  plan = plan_branch_rewrite(after_junk, sizeof after_junk, 0x600000, whole(0x600000, sizeof after_junk), 0x500000, 1 << 20, kSlots);
  EXPECT_EQ(plan.counted, 0u);
  EXPECT_TRUE(plan.patches.empty());
  // No room for stubs: candidates stay uncovered.
  const uint8_t near[] = {0x0f, 0x85, 0x10, 0x00, 0x00, 0x00, 0xc3};
  plan = plan_branch_rewrite(near, sizeof near, 0x600000, whole(0x600000, sizeof near), 0x500000, 0, kSlots);
  EXPECT_EQ(plan.counted, 0u);
  EXPECT_EQ(plan.uncovered, 1u);
}

bool same_plan(const RewritePlan& a, const RewritePlan& b) {
  if (a.patches.size() != b.patches.size()) return false;
  for (size_t i = 0; i < a.patches.size(); ++i)
    if (a.patches[i].addr != b.patches[i].addr || a.patches[i].bytes != b.patches[i].bytes) return false;
  return a.stub_base == b.stub_base && a.stubs == b.stubs && a.counted == b.counted && a.lean_stubs == b.lean_stubs &&
         a.uncovered == b.uncovered && a.spin_sites == b.spin_sites && a.poll_sites == b.poll_sites;
}

// The recorder plans a section once, with its stubs right below it, and
// then moves the stubs to the room it finds: the moved plan must be the one
// a plan made there gives, byte for byte. Checked on this test program's
// own code (thousands of functions, both kinds of stubs, islands) and on
// the sample loop.
TEST(BranchRewriter, AMovedPlanIsThePlanMadeWhereItsStubsGo) {
  FileText file;
  ASSERT_EQ(read_file_text("/proc/self/exe", &file), "");
  const uint64_t code_addr = file.code_addr;
  const std::vector<AddrRange>& functions = file.functions;
  const uint8_t* code = file.code();
  size_t len = file.text.size;
  RewritePlan near = plan_branch_rewrite(code, len, code_addr, functions, code_addr - (16 << 20), 16 << 20, kSlots);
  ASSERT_GT(near.counted, 1000u);
  ASSERT_GT(near.lean_stubs, 0u);
  ASSERT_LT(near.lean_stubs * kLeanStubSize, near.stubs.size()) << "full stubs too";
  const uint64_t bases[] = {code_addr - (1ull << 30), code_addr - (2ull << 30) + (32ull << 20), code_addr - (16ull << 20)};
  for (uint64_t base : bases) {
    size_t room = (near.stubs.size() + 4095) & ~size_t(4095);
    std::optional<RewritePlan> moved = relocate_plan(near, base, kSlots);
    RewritePlan there = plan_branch_rewrite(code, len, code_addr, functions, base, room, kSlots);
    if (!moved) {
      // Refused only where a displacement would not fit: a block's
      // rip-relative operand aiming at data far above the code (a large
      // Debug/ASan build), which a plan made there leaves out.
      EXPECT_LT(there.moved, near.moved) << "a move refused for no reason, stubs at 0x" << std::hex << base;
      continue;
    }
    EXPECT_TRUE(same_plan(*moved, there)) << "stubs at 0x" << std::hex << base;
  }
  RewritePlan loop = plan_branch_rewrite(kLoop, sizeof kLoop, 0x401000, whole(0x401000, sizeof kLoop), 0x300000, 1 << 20, kSlots);
  std::optional<RewritePlan> moved = relocate_plan(loop, 0x200000, kSlots);
  ASSERT_TRUE(moved);
  EXPECT_TRUE(same_plan(*moved, plan_branch_rewrite(kLoop, sizeof kLoop, 0x401000, whole(0x401000, sizeof kLoop),
                                                    0x200000, 1 << 20, kSlots)));
  // Beyond 2 GiB of the code nothing reaches: no move there.
  EXPECT_FALSE(relocate_plan(loop, 0x401000ull + (3ull << 30), kSlots));
  // A plan that left branches out for want of reach is not moved: where its
  // stubs go they may reach, and only a new plan counts them.
  RewritePlan far = plan_branch_rewrite(kLoop, sizeof kLoop, 0x401000, whole(0x401000, sizeof kLoop),
                                        0x401000ull + (3ull << 30), 1 << 20, kSlots);
  EXPECT_EQ(far.counted, 0u);
  EXPECT_GT(far.out_of_reach, 0u);
  EXPECT_FALSE(relocate_plan(far, 0x300000, kSlots));
}

// Go's compiler emits nops that are code: marks of inlined calls, which may
// be the first instruction of a block its jump tables aim at (an island
// over one made Go's own compiler crash under recording). In Go's code
// only int3s are padding.
TEST(BranchRewriter, NopsAreCodeInGoPrograms) {
  const uint8_t code[] = {
      0xff, 0xc0, 0x39, 0xf8, 0x7c, 0xfa,  // 00 L: inc; cmp; jl L
      0xeb, 0x05,                          // 06 jmp 0x0d
      0x90, 0x90, 0x90, 0x90, 0x90,        // 08 nops a jump table may aim at
      0xc3,                                // 0d ret
      0xcc, 0xcc, 0xcc, 0xcc, 0xcc,        // 0e int3s between functions
  };
  const uint64_t at = 0x600000;
  RewritePlan c = plan_branch_rewrite(code, sizeof code, at, whole(at, sizeof code), 0x500000, 1 << 20, kSlots);
  ASSERT_EQ(c.counted, 1u);
  auto island_at = [](const RewritePlan& plan) {
    for (const auto& p : plan.patches)
      if (p.bytes.size() == 5) return p.addr;
    return uint64_t(0);
  };
  EXPECT_EQ(island_at(c), at + 0x08) << "in C's code the nops after a jmp are padding";
  RewritePlan go = plan_branch_rewrite(code, sizeof code, at, whole(at, sizeof code), 0x500000, 1 << 20, kSlots, false);
  ASSERT_EQ(go.counted, 1u);
  EXPECT_EQ(island_at(go), at + 0x0e) << "in Go's code only the int3s are";
}

// Two functions with a table of constants between them, as hand-written
// assembly keeps in .text (SHA-1's round constants, whose 0x79 bytes decode
// as `jns`): only the functions the unwind tables name are read.
TEST(BranchRewriter, LeavesDataBetweenFunctionsAlone) {
  uint8_t code[0x40];
  const uint8_t function[] = {0x31, 0xc0, 0xff, 0xc0, 0x39, 0xf8, 0x7c, 0xfa, 0xc3};  // xor; L: inc; cmp; jl L; ret
  memset(code, 0xcc, sizeof code);
  memcpy(code, function, sizeof function);
  for (int i = 0; i < 4; ++i) memcpy(code + 0x10 + 4 * i, "\x99\x79\x82\x5a", 4);  // 0x5a827999
  memcpy(code + 0x20, function, sizeof function);
  const uint64_t at = 0x600000;
  auto touches_table = [&](const RewritePlan& plan) {
    return std::any_of(plan.patches.begin(), plan.patches.end(), [&](const PatchList::Ref& p) {
      return p.addr < at + 0x20 && p.addr + p.bytes.size() > at + 0x10;
    });
  };
  RewritePlan swept = plan_branch_rewrite(code, sizeof code, at, whole(at, sizeof code), 0x500000, 1 << 20, kSlots);
  ASSERT_TRUE(touches_table(swept)) << "a linear sweep reads the table as branches (what this test guards against)";
  std::vector<AddrRange> functions = {{at, at + sizeof function}, {at + 0x20, at + 0x20 + sizeof function}};
  RewritePlan plan = plan_branch_rewrite(code, sizeof code, at, functions, 0x500000, 1 << 20, kSlots);
  EXPECT_FALSE(touches_table(plan));
  EXPECT_EQ(plan.counted, 2u) << "both loops count, through islands in the padding after each function";
  EXPECT_EQ(plan.uncovered, 0u);
}

// A function whose only padding in reach is the alignment that leads into
// it, after code no unwind table names (the C runtime's start-up stubs):
// the island goes at the end of that padding, and the code before it stays.
TEST(BranchRewriter, FindsIslandsInThePaddingBeforeAFunction) {
  const uint8_t code[] = {
      0x48, 0x89, 0xc8, 0x48, 0x89, 0xc8, 0x48, 0x89, 0xc8,  // 00 code of no function: mov rax, rcx (x3)
      0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00,              // 09 nopl 0x0(%rax): alignment to 0x10
      0x31, 0xc0, 0xff, 0xc0, 0x39, 0xf8, 0x7c, 0xfa, 0xc3,  // 10 xor; L: inc; cmp; jl L; ret
  };
  const uint64_t at = 0x600000;
  RewritePlan plan = plan_branch_rewrite(code, sizeof code, at, {{at + 0x10, at + sizeof code}}, 0x500000, 1 << 20, kSlots);
  EXPECT_EQ(plan.counted, 1u);
  ASSERT_EQ(plan.patches.size(), 2u);
  plan.patches = plan.patches.sorted_by_address();
  EXPECT_EQ(plan.patches[0].addr, at + 0x0b) << "the island ends where the function begins";
  EXPECT_EQ(plan.patches[0].bytes.size(), 5u);
  // Without an aligned function start there is no padding to trust: the
  // loop's branch counts through a moved block instead (inc; cmp; jl: its
  // first instruction becomes the jump to the block).
  RewritePlan unaligned =
      plan_branch_rewrite(code, sizeof code, at + 1, {{at + 0x11, at + 1 + sizeof code}}, 0x500000, 1 << 20, kSlots);
  EXPECT_EQ(unaligned.counted, 1u);
  EXPECT_EQ(unaligned.moved, 1u);
  ASSERT_EQ(unaligned.patches.size(), 1u);
  EXPECT_EQ(unaligned.patches[0].addr, at + 1 + 0x12);
  EXPECT_EQ(unaligned.patches[0].bytes, std::string("\xe9", 1) + std::string(4, '\0').replace(0, 4, unaligned.patches[0].bytes.substr(1, 4)) + "\xcc");
}

TEST(BranchRewriter, FindsLoopsThatChangeNothing) {
  // -O0's `while (1);` (jmp .), `for (;;) pause;` and a near jmp back over
  // nops: spin sites, never counted (a turn of them changes nothing).
  const uint8_t spins[] = {
      0x31, 0xc0,                    // 00 xor eax, eax
      0xeb, 0xfe,                    // 02 jmp .
      0xf3, 0x90,                    // 04 pause
      0xeb, 0xfc,                    // 06 jmp 04
      0x90, 0x0f, 0x1f, 0x00,        // 08 nop; nop [rax]
      0xe9, 0xf7, 0xff, 0xff, 0xff,  // 0c jmp 08 (near)
      0xc3,                          // 11 ret
  };
  RewritePlan plan = plan_branch_rewrite(spins, sizeof spins, 0x600000, whole(0x600000, sizeof spins), 0x500000, 1 << 20, kSlots);
  EXPECT_EQ(plan.spin_sites, (std::vector<uint64_t>{0x600002, 0x600006, 0x60000c}));
  EXPECT_EQ(plan.counted, 0u);
  EXPECT_EQ(plan.uncovered, 0u);
  EXPECT_TRUE(plan.patches.empty());
  // Loops whose turn changes something, or that jump into the middle of an
  // instruction, are no spin sites: inc eax; jmp back. A forward jmp never is.
  const uint8_t busy[] = {
      0xff, 0xc0,        // 00 inc eax
      0xeb, 0xfc,        // 02 jmp 00
      0xeb, 0xfd,        // 04 jmp 03 (inside the jmp before)
      0xeb, 0x00,        // 06 jmp 08
      0xc3,              // 08 ret
  };
  plan = plan_branch_rewrite(busy, sizeof busy, 0x600000, whole(0x600000, sizeof busy), 0x500000, 1 << 20, kSlots);
  EXPECT_TRUE(plan.spin_sites.empty());
}

TEST(BranchRewriter, FindsLoopsThatOnlyRead) {
  // -O0's `while (!flag);` (a load, a test, a short je back, no padding in
  // reach), `while (turn != me);` comparing with a local, and a loop that
  // loads into a register it tests after a pause: poll sites, not counted.
  const uint8_t polls[] = {
      0x8b, 0x05, 0x00, 0x10, 0x00, 0x00,  // 00 mov eax, [rip+0x1000]
      0x85, 0xc0,                          // 06 test eax, eax
      0x74, 0xf6,                          // 08 je 00
      0x8b, 0x05, 0x00, 0x10, 0x00, 0x00,  // 0a mov eax, [rip+0x1000]
      0x39, 0x45, 0xfc,                    // 10 cmp [rbp-4], eax
      0x75, 0xf5,                          // 13 jne 0a
      0xf3, 0x90,                          // 15 pause
      0x0f, 0xb6, 0x07,                    // 17 movzx eax, byte [rdi]
      0x84, 0xc0,                          // 1a test al, al
      0x74, 0xf7,                          // 1c je 15
      0xc3,                                // 1e ret
  };
  RewritePlan plan = plan_branch_rewrite(polls, sizeof polls, 0x600000, whole(0x600000, sizeof polls), 0x500000, 1 << 20, kSlots);
  EXPECT_EQ(plan.poll_sites, (std::vector<uint64_t>{0x600008, 0x600013, 0x60001c}));
  EXPECT_EQ(plan.counted + plan.uncovered + plan.patches.size(), 0u) << "a poll site is neither counted nor patched";
  // Loops that write memory, carry a register from one turn to the next,
  // lock, or call, stay uncounted: no poll sites.
  const uint8_t busy[] = {
      0x83, 0x45, 0xfc, 0x01,              // 00 add dword [rbp-4], 1
      0x8b, 0x45, 0xfc,                    // 04 mov eax, [rbp-4]
      0x85, 0xc0,                          // 07 test eax, eax
      0x75, 0xf5,                          // 09 jne 00
      0x83, 0xc0, 0x01,                    // 0b add eax, 1
      0x39, 0xf8,                          // 0e cmp eax, edi
      0x7c, 0xf9,                          // 10 jl 0b
      0xb8, 0x01, 0x00, 0x00, 0x00,        // 12 mov eax, 1
      0xf0, 0x0f, 0xb1, 0x17,              // 17 lock cmpxchg [rdi], edx
      0x85, 0xc0,                          // 1b test eax, eax
      0x74, 0xf3,                          // 1d je 12
      0xe8, 0x00, 0x00, 0x00, 0x00,        // 1f call 24
      0x85, 0xc0,                          // 24 test eax, eax
      0x74, 0xf7,                          // 26 je 1f
      0xc3,                                // 28 ret
  };
  plan = plan_branch_rewrite(busy, sizeof busy, 0x600000, whole(0x600000, sizeof busy), 0x500000, 1 << 20, kSlots);
  EXPECT_TRUE(plan.poll_sites.empty());
  // Three count through moved blocks; the loop back to the call cannot.
  EXPECT_EQ(plan.moved, 3u);
  EXPECT_EQ(plan.uncovered, 1u);
}

// The rewritten sample, run here: mapped with its stubs and a counter page.
class RunRewritten : public ::testing::Test {
 protected:
  void SetUp() override {
    page_ = mmap((void*)kSlotsPage, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                 -1, 0);
    ASSERT_EQ(page_, (void*)kSlotsPage) << "the counter page's address is taken in the test process";
    // Code and stubs in one mapping: the stubs 64 KiB after the code.
    area_ = static_cast<uint8_t*>(
        mmap(nullptr, 1 << 17, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(area_, MAP_FAILED);
    memcpy(area_, kLoop, sizeof kLoop);
    uint64_t code = (uint64_t)area_, stubs = code + (1 << 16);
    plan_ = plan_branch_rewrite(kLoop, sizeof kLoop, code, whole(code, sizeof kLoop), stubs, 1 << 16, kSlots);
    ASSERT_EQ(plan_.counted, 3u);
    memcpy((void*)stubs, plan_.stubs.data(), plan_.stubs.size());
    for (const auto& p : plan_.patches) memcpy((void*)p.addr, p.bytes.data(), p.bytes.size());
    __builtin___clear_cache((char*)area_, (char*)area_ + (1 << 17));
  }
  void TearDown() override {
    if (area_ && area_ != MAP_FAILED) munmap(area_, 1 << 17);
    if (page_ == (void*)kSlotsPage) munmap(page_, 4096);
  }
  uint64_t& remaining() { return *reinterpret_cast<uint64_t*>(kSlotsPage); }
  int call(int n) { return reinterpret_cast<int (*)(int)>(area_)(n); }

  void* page_ = nullptr;
  uint8_t* area_ = nullptr;
  RewritePlan plan_;
};

TEST_F(RunRewritten, CountsEveryTakenBranchAndKeepsFlagsAndRcx) {
  for (int n : {1, 2, 7, 1000}) {
    remaining() = 0;  // disarmed: counts down from 2^64
    EXPECT_EQ(call(n), 2 * n) << "n = " << n;
    EXPECT_EQ(remaining(), (uint64_t)0 - (uint64_t)(2 * n - 1)) << "n = " << n;
  }
}

uint64_t g_trap_rip = 0;
int g_traps = 0;
void on_trap(int, siginfo_t*, void* uc) {
  ++g_traps;
  g_trap_rip = (uint64_t)static_cast<ucontext_t*>(uc)->uc_mcontext.gregs[REG_RIP];
}

TEST_F(RunRewritten, TrapsAtTheArmedCount) {
  struct sigaction sa = {}, old;
  sa.sa_sigaction = on_trap;
  sa.sa_flags = SA_SIGINFO;
  ASSERT_EQ(sigaction(SIGTRAP, &sa, &old), 0);
  g_traps = 0;
  remaining() = 4;
  // n = 5: 9 taken branches (jl M, jl L, jl M, jl L, ..., jge); the 4th is
  // the second turn's jl L, whose stub is the first (backward branches first).
  EXPECT_EQ(call(5), 10);
  sigaction(SIGTRAP, &old, nullptr);
  EXPECT_EQ(g_traps, 1);
  uint64_t jl_l_stub = (uint64_t)area_ + (1 << 16);  // a lean one
  EXPECT_EQ(g_trap_rip, jl_l_stub + kLeanStubTrapOffset + 1);
  EXPECT_EQ(remaining(), (uint64_t)0 - 5);  // went on counting after the trap
}

// A counter page at kSlotsPage and 128 KiB of memory to run code and its
// stubs in, unmapped at the end of the test.
struct ScratchCode {
  ScratchCode()
      : page(mmap((void*)kSlotsPage, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                  -1, 0)),
        area(static_cast<uint8_t*>(
            mmap(nullptr, 1 << 17, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))) {}
  ~ScratchCode() {
    if (area != MAP_FAILED) munmap(area, 1 << 17);
    if (page != MAP_FAILED) munmap(page, 4096);
  }
  ScratchCode(const ScratchCode&) = delete;
  ScratchCode& operator=(const ScratchCode&) = delete;
  bool ok() const { return page == (void*)kSlotsPage && area != MAP_FAILED; }
  // The code at `area`, its stubs 64 KiB after it, as `plan` rewrites them.
  void install(const uint8_t* code, size_t len, const RewritePlan& plan) {
    memcpy(area, code, len);
    memcpy(area + 0x10000, plan.stubs.data(), plan.stubs.size());
    for (const auto& p : plan.patches) memcpy((void*)p.addr, p.bytes.data(), p.bytes.size());
    __builtin___clear_cache((char*)area, (char*)area + (1 << 17));
  }
  void* page;
  uint8_t* area;
};

// A loop whose top divides by its counter (esi, n down to 0) before
// anything writes the flags: its jns gets a lean stub, and the division by
// zero after the n-th taken jns faults with the flags that stub left. They
// must not depend on the count (replay does not arm it as the recorder
// did): the same at any count, on the trap's way too, and as a
// `cmp eax, eax` leaves them.
uint64_t g_fpe_flags = 0;
sigjmp_buf g_fpe_back;
void on_fpe(int, siginfo_t*, void* uc) {
  g_fpe_flags = (uint64_t)static_cast<ucontext_t*>(uc)->uc_mcontext.gregs[REG_EFL];
  siglongjmp(g_fpe_back, 1);
}
void on_counter_trap(int, siginfo_t*, void*) { ++g_traps; }
// Runs f(n) until its SIGFPE: the flags its handler saw, nullopt without one.
std::optional<uint64_t> flags_at_fpe(void (*f)(int), int n) {
  if (sigsetjmp(g_fpe_back, 1) != 0) return g_fpe_flags;
  f(n);
  return std::nullopt;
}

TEST(BranchRewriter, LeanStubFlagsDoNotDependOnTheCount) {
  const uint8_t code[] = {
      0x89, 0xfe,                          // 00 mov esi, edi
      0xb8, 0xe8, 0x03, 0x00, 0x00,        // 02 T: mov eax, 1000
      0xba, 0x00, 0x00, 0x00, 0x00,        // 07 mov edx, 0
      0xf7, 0xf6,                          // 0c div esi   (faults at esi = 0)
      0xff, 0xce,                          // 0e dec esi
      0x79, 0xf0,                          // 10 jns T
      0xc3,                                // 12 ret
      0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,  // 13 padding: an island
      0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
  };
  ScratchCode scratch;
  ASSERT_TRUE(scratch.ok()) << "the counter page's address is taken in the test process";
  uint8_t* area = scratch.area;
  uint64_t at = (uint64_t)area;
  RewritePlan plan = plan_branch_rewrite(code, sizeof code, at, whole(at, sizeof code), at + 0x10000, 1 << 12, kSlots);
  ASSERT_EQ(plan.counted, 1u);
  ASSERT_EQ(plan.lean_stubs, 1u) << "the division writes the flags before anything reads them";
  scratch.install(code, sizeof code, plan);
  struct sigaction fpe = {}, trap = {}, old_fpe, old_trap;
  fpe.sa_sigaction = on_fpe;
  fpe.sa_flags = SA_SIGINFO | SA_NODEFER;
  trap.sa_sigaction = on_counter_trap;
  trap.sa_flags = SA_SIGINFO;
  ASSERT_EQ(sigaction(SIGFPE, &fpe, &old_fpe), 0);
  ASSERT_EQ(sigaction(SIGTRAP, &trap, &old_trap), 0);
  auto f = reinterpret_cast<void (*)(int)>(area);
  uint64_t& remaining = *reinterpret_cast<uint64_t*>(kSlotsPage);
  constexpr uint64_t kStatusFlags = 0x8d5;  // CF PF AF ZF SF OF
  constexpr int n = 5;                      // taken jns before the fault
  g_traps = 0;
  // Disarmed (0), armed far and near, with every flag of a `sub` differing
  // (sign, carry, overflow, parity, adjust), and armed to trap at the last.
  for (uint64_t armed : {(uint64_t)0, (uint64_t)1000000, (uint64_t)0x8000000000000003, (uint64_t)0x13,
                         (uint64_t)0x20, (uint64_t)n + 1, (uint64_t)n}) {
    remaining = armed;
    std::optional<uint64_t> flags = flags_at_fpe(f, n);
    ASSERT_TRUE(flags.has_value()) << "no SIGFPE, armed " << armed;
    EXPECT_EQ(*flags & kStatusFlags, 0x44u) << "ZF and PF only, armed " << armed;
    EXPECT_EQ(remaining, armed - n) << "armed " << armed;
  }
  EXPECT_EQ(g_traps, 1) << "the count armed to n trapped at the n-th branch";
  sigaction(SIGFPE, &old_fpe, nullptr);
  sigaction(SIGTRAP, &old_trap, nullptr);
}

// A loop as -O0 builds it, with no padding anywhere (so no island): the
// condition, `cmp ecx, [rip+limit]; jl body`, moves into a block, its
// rip-relative operand corrected; run here, planned near the code and then
// moved elsewhere (relocate_plan), it computes what it did and counts every
// taken branch.
TEST(BranchRewriter, MovedBlocksRunAndCount) {
  const uint8_t code[] = {
      0x31, 0xc0,                          // 00 xor eax, eax
      0x31, 0xc9,                          // 02 xor ecx, ecx
      0xeb, 0x05,                          // 04 jmp 0b
      0x01, 0xf8,                          // 06 add eax, edi
      0x83, 0xc1, 0x01,                    // 08 add ecx, 1
      0x3b, 0x0d, 0x2f, 0x00, 0x00, 0x00,  // 0b cmp ecx, [rip+0x2f]: limit, at 0x40
      0x7c, 0xf3,                          // 11 jl 06
      0xc3,                                // 13 ret
  };
  ScratchCode scratch;
  ASSERT_TRUE(scratch.ok()) << "the counter page's address is taken in the test process";
  uint8_t* area = scratch.area;
  uint64_t at = (uint64_t)area;
  RewritePlan near = plan_branch_rewrite(code, sizeof code, at, whole(at, sizeof code), at + 0x1000, 1 << 12, kSlots);
  EXPECT_EQ(near.counted, 1u);
  EXPECT_EQ(near.moved, 1u);
  EXPECT_EQ(near.uncovered, 0u);
  ASSERT_EQ(near.patches.size(), 1u);
  EXPECT_EQ(near.patches[0].addr, at + 0x0b) << "the block's jump replaces the compare, the loop's entry";
  EXPECT_EQ(near.patches[0].bytes.size(), 8u);
  std::optional<RewritePlan> plan = relocate_plan(near, at + 0x10000, kSlots);
  ASSERT_TRUE(plan.has_value());
  scratch.install(code, sizeof code, *plan);
  int32_t limit = 10;
  memcpy(area + 0x40, &limit, 4);
  auto f = reinterpret_cast<int (*)(int)>(area);
  uint64_t& remaining = *reinterpret_cast<uint64_t*>(kSlotsPage);
  remaining = 0;
  EXPECT_EQ(f(3), 30);
  EXPECT_EQ(remaining, (uint64_t)0 - 10) << "ten taken jl";
  limit = 0;
  memcpy(area + 0x40, &limit, 4);
  remaining = 0;
  EXPECT_EQ(f(3), 0) << "the branch is not taken: the body never runs";
  EXPECT_EQ(remaining, 0u);
}

// `loop` (decrement rcx, branch while it is not 0) is a conditional
// branch with an 8-bit displacement only. With padding near, it counts
// through an island as a short jcc does; without, through a moved block:
// `loop .`, whose target is itself (a delay loop), with the instruction
// after it (a following run), and `add eax, 2; loop` back to the add with
// the instruction before it. Run here, both ways give the same result and
// count every turn but the last of each loop.
TEST(BranchRewriter, LoopInstructionsCount) {
  const uint8_t code[] = {
      0x89, 0xf9,                          // 00 mov ecx, edi
      0xe2, 0xfe,                          // 02 L1: loop L1
      0xb8, 0x05, 0x00, 0x00, 0x00,        // 04 mov eax, 5
      0x89, 0xf9,                          // 09 mov ecx, edi
      0x83, 0xc0, 0x02,                    // 0b L2: add eax, 2
      0xe2, 0xfb,                          // 0e loop L2
      0xc3,                                // 10 ret
      0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,  // 11 padding: two islands (only with_padding)
      0xcc, 0xcc,
  };
  for (bool with_padding : {true, false}) {
    SCOPED_TRACE(with_padding ? "islands" : "moved blocks");
    size_t len = with_padding ? sizeof code : 0x11;
    ScratchCode scratch;
    ASSERT_TRUE(scratch.ok()) << "the counter page's address is taken in the test process";
    uint64_t at = (uint64_t)scratch.area;
    RewritePlan near = plan_branch_rewrite(code, len, at, whole(at, len), at + 0x1000, 1 << 12, kSlots);
    EXPECT_EQ(near.counted, 2u);
    EXPECT_EQ(near.moved, with_padding ? 0u : 2u);
    EXPECT_EQ(near.uncovered, 0u);
    if (!with_padding) {
      std::map<uint64_t, size_t> patched;
      for (const auto& p : near.patches) patched[p.addr - at] = p.bytes.size();
      EXPECT_EQ(patched, (std::map<uint64_t, size_t>{{0x02, 7}, {0x0b, 5}}))
          << "the self loop moves with the mov after it, the other with the add before it";
    }
    std::optional<RewritePlan> plan = relocate_plan(near, at + 0x10000, kSlots);
    ASSERT_TRUE(plan.has_value());
    scratch.install(code, len, *plan);
    auto f = reinterpret_cast<int (*)(int)>(scratch.area);
    uint64_t& remaining = *reinterpret_cast<uint64_t*>(kSlotsPage);
    for (int n : {1, 2, 10, 1000}) {
      remaining = 0;
      EXPECT_EQ(f(n), 5 + 2 * n) << "n = " << n;
      EXPECT_EQ(remaining, (uint64_t)0 - (uint64_t)(2 * n - 2)) << "n = " << n;
    }
  }
}

// Two backward jne around a compare, as in glibc's getenv: the first has
// no preceding run (a call before its test), so it moves with the compare
// after it; the second's preceding run would be that same compare, so it
// moves with the lea after it instead. Runs never overlap (one's jump to
// its block would be written over another's).
TEST(BranchRewriter, MovedRunsDoNotOverlap) {
  const uint8_t code[] = {
      0xe8, 0x00, 0x00, 0x00, 0x00,        // 00 L: call 05
      0x85, 0xc0,                          // 05 test eax, eax
      0x75, 0xf7,                          // 07 jne L
      0x80, 0x3b, 0x3d,                    // 09 cmp byte [rbx], 0x3d
      0x75, 0xf2,                          // 0c jne L
      0x48, 0x8d, 0x5b, 0x01,              // 0e lea rbx, [rbx+1]
      0xc3,                                // 12 ret
  };
  RewritePlan plan = plan_branch_rewrite(code, sizeof code, 0x600000, whole(0x600000, sizeof code), 0x500000, 1 << 20, kSlots);
  EXPECT_EQ(plan.moved, 2u);
  std::map<uint64_t, size_t> patched;
  for (const auto& p : plan.patches) patched[p.addr - 0x600000] = p.bytes.size();
  EXPECT_EQ(patched, (std::map<uint64_t, size_t>{{0x07, 5}, {0x0c, 6}}));
}

// No two patches of a plan of real code overlap: this program's and the C
// library's it runs with (the one /proc/self/maps names).
TEST(BranchRewriter, PatchesOfRealCodeDoNotOverlap) {
  std::vector<std::string> files{"/proc/self/exe"};
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    size_t at = line.find("/libc.so.6");
    if (at != std::string::npos) {
      files.push_back(line.substr(line.find('/')));
      break;
    }
  }
  ASSERT_EQ(files.size(), 2u) << "no libc.so.6 in /proc/self/maps";
  for (const std::string& path : files) {
    SCOPED_TRACE(path);
    FileText file;
    ASSERT_EQ(read_file_text(path, &file), "");
    RewritePlan plan = plan_branch_rewrite(file.code(), file.text.size, file.code_addr, file.functions,
                                           file.code_addr - (16 << 20), 16 << 20, kSlots);
    ASSERT_GT(plan.moved, 0u);
    std::vector<std::pair<uint64_t, uint64_t>> spans;
    for (const auto& p : plan.patches) spans.push_back({p.addr, p.addr + p.bytes.size()});
    std::sort(spans.begin(), spans.end());
    for (size_t k = 1; k < spans.size(); ++k)
      ASSERT_LE(spans[k - 1].second, spans[k].first) << "patches at 0x" << std::hex << spans[k - 1].first << " and 0x"
                                                     << spans[k].first;
  }
}

// A run with a direct branch's target inside it, or in a function with an
// indirect jump (a switch's table may name any instruction), is not moved.
TEST(BranchRewriter, MovesNoRunThatCanBeEnteredInside) {
  const uint8_t inner_target[] = {
      0xeb, 0x04,                          // 00 jmp 06
      0x31, 0xc0,                          // 02 L: xor eax, eax
      0xff, 0xc0,                          // 04 inc eax
      0x39, 0xf8,                          // 06 cmp eax, edi   (a target)
      0x7c, 0xf8,                          // 08 jl 02
      0xc3,                                // 0a ret
  };
  RewritePlan plan = plan_branch_rewrite(inner_target, sizeof inner_target, 0x600000,
                                         whole(0x600000, sizeof inner_target), 0x500000, 1 << 20, kSlots);
  EXPECT_EQ(plan.moved, 0u);
  EXPECT_EQ(plan.uncovered, 1u);
  const uint8_t with_table[] = {
      0xff, 0xc0,                          // 00 L: inc eax
      0x39, 0xf8,                          // 02 cmp eax, edi
      0x7c, 0xfa,                          // 04 jl 00
      0xff, 0xe1,                          // 06 jmp rcx
  };
  plan = plan_branch_rewrite(with_table, sizeof with_table, 0x600000, whole(0x600000, sizeof with_table), 0x500000,
                             1 << 20, kSlots);
  EXPECT_EQ(plan.moved, 0u);
  EXPECT_EQ(plan.uncovered, 1u);
}

}  // namespace
}  // namespace rr
