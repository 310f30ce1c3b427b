#include "core/branch_rewriter.h"

#include <Zydis/Zydis.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <unordered_map>

namespace rr {

namespace {

constexpr uint8_t kJmpRel32 = 0xe9;
constexpr size_t kIslandSize = 5;  // jmp rel32
// Instructions decoded this soon after bytes that did not decode may be a
// misreading of data: they are never rewritten.
constexpr uint64_t kDesyncShadow = 32;

struct Insn {
  uint64_t addr = 0;
  uint8_t len = 0;
  // ShortLoop: `loop`, `loope`, `loopne` and `jrcxz`, conditional branches
  // with an 8-bit displacement only (and no near form to widen them to).
  enum class Kind { Other, ShortJcc, NearJcc, ShortJmp, NearJmp, ShortLoop, Ends, Padding } kind = Kind::Other;
  uint64_t target = 0;     // for the branches
  uint8_t disp_offset = 0;  // where the displacement is in the instruction
  bool inert = false;       // a nop or a pause: changes nothing but rip
  bool shadowed = false;    // soon after bytes that did not decode: never rewritten nor moved
  uint32_t fn = 0;          // the function (index in `functions`) it belongs to
};

void put32(std::string& s, size_t at, uint32_t v) { memcpy(&s[at], &v, 4); }

bool fits32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

// `mov [abs32], rcx`, `mov rcx, [abs32]`: SIB with no base or index.
std::string mov_to_abs(uint32_t abs) {
  std::string s("\x48\x89\x0c\x25\0\0\0\0", 8);
  put32(s, 4, abs);
  return s;
}
std::string mov_from_abs(uint32_t abs) {
  std::string s("\x48\x8b\x0c\x25\0\0\0\0", 8);
  put32(s, 4, abs);
  return s;
}

// A stub at `at` that counts one branch to `target` without touching the
// flags (lea and jrcxz leave them alone: the code after the branch may test
// them again):
//    0 mov [saved_rcx], rcx        30 mov rcx, [saved_rcx]
//    8 mov rcx, [remaining]        38 jmp target
//   16 lea rcx, [rcx-1]            43 mov rcx, [saved_rcx]     (the trap: the
//   20 mov [remaining], rcx        51 int3                      program's own
//   28 jrcxz 43                    52 jmp target                registers)
std::string make_stub(uint64_t at, uint64_t target, const CounterSlots& slots) {
  std::string s;
  s += mov_to_abs((uint32_t)slots.saved_rcx);
  s += mov_from_abs((uint32_t)slots.remaining);
  s += std::string("\x48\x8d\x49\xff", 4);
  s += mov_to_abs((uint32_t)slots.remaining);
  s += std::string("\xe3\x0d", 2);
  s += mov_from_abs((uint32_t)slots.saved_rcx);
  s += std::string("\xe9\0\0\0\0", 5);
  put32(s, s.size() - 4, (uint32_t)(int32_t)(target - (at + s.size())));
  s += mov_from_abs((uint32_t)slots.saved_rcx);
  s += '\xcc';
  s += std::string("\xe9\0\0\0\0", 5);
  put32(s, s.size() - 4, (uint32_t)(int32_t)(target - (at + s.size())));
  s.resize(kStubSize, '\xcc');
  return s;
}

// A lean stub at `at` for a target whose code writes the status flags
// before it reads any (flags_dead_at), so that the stub may change them:
//    0 sub qword [remaining], 1
//    9 je 18
//   11 cmp eax, eax                (the flags: ZF PF set, CF OF SF AF clear)
//   13 jmp target
//   18 int3                        (the trap)
//   19 jmp target
// The `sub`'s flags depend on the count, which replay does not arm as the
// recorder did (only for a recorded trap); the `cmp` makes them the same
// whatever the count, and a `sub` that reaches 0 (the trap) leaves those
// same flags. So the flags the program has after a lean stub never depend
// on the count, and an event before its code writes them (a fault, an
// rdrand trap, a tracer's single step) sees them alike in both.
std::string make_lean_stub(uint64_t at, uint64_t target, const CounterSlots& slots) {
  std::string s("\x48\x83\x2c\x25\0\0\0\0\x01", 9);
  put32(s, 4, (uint32_t)slots.remaining);
  s += std::string("\x74\x07\x39\xc0", 4);
  s += std::string("\xe9\0\0\0\0", 5);
  put32(s, s.size() - 4, (uint32_t)(int32_t)(target - (at + s.size())));
  s += '\xcc';
  s += std::string("\xe9\0\0\0\0", 5);
  put32(s, s.size() - 4, (uint32_t)(int32_t)(target - (at + s.size())));
  s.resize(kLeanStubSize, '\xcc');
  return s;
}

// A decoder for the sweep over all instructions, which needs only their
// length, mnemonic, opcode and immediate: Zydis's minimal mode skips the
// rest (operands, flags), which took most of the planner's time.
ZydisDecoder sweep_decoder() {
  ZydisDecoder decoder;
  ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  ZydisDecoderEnableMode(&decoder, ZYDIS_DECODER_MODE_MINIMAL, ZYAN_TRUE);
  return decoder;
}

// `nops_are_padding`: whether a nop may be alignment padding (never
// reached but by falling through from padding before it) or, as in Go's
// code, may be the first instruction of a block an indirect jump aims at.
Insn classify(const ZydisDecodedInstruction& d, uint64_t addr, bool nops_are_padding) {
  Insn in;
  in.addr = addr;
  in.len = d.length;
  if (d.mnemonic == ZYDIS_MNEMONIC_RET || d.mnemonic == ZYDIS_MNEMONIC_UD2 ||
      (d.mnemonic == ZYDIS_MNEMONIC_JMP && !d.raw.imm[0].is_relative)) {
    in.kind = Insn::Kind::Ends;
    return in;
  }
  in.inert = d.mnemonic == ZYDIS_MNEMONIC_NOP || d.mnemonic == ZYDIS_MNEMONIC_PAUSE;
  if ((d.mnemonic == ZYDIS_MNEMONIC_NOP && nops_are_padding) || d.mnemonic == ZYDIS_MNEMONIC_INT3) {
    in.kind = Insn::Kind::Padding;
    return in;
  }
  if (!d.raw.imm[0].is_relative || (d.raw.imm[0].size != 8 && d.raw.imm[0].size != 32)) return in;
  in.target = addr + d.length + (uint64_t)d.raw.imm[0].value.s;
  in.disp_offset = d.raw.imm[0].offset;
  bool short_form = d.raw.imm[0].size == 8;
  if (d.opcode_map == ZYDIS_OPCODE_MAP_DEFAULT && d.opcode >= 0x70 && d.opcode <= 0x7f)
    in.kind = Insn::Kind::ShortJcc;
  else if (d.opcode_map == ZYDIS_OPCODE_MAP_0F && d.opcode >= 0x80 && d.opcode <= 0x8f)
    in.kind = Insn::Kind::NearJcc;
  else if (d.opcode_map == ZYDIS_OPCODE_MAP_DEFAULT && (d.opcode == 0xeb || d.opcode == 0xe9))
    in.kind = short_form ? Insn::Kind::ShortJmp : Insn::Kind::NearJmp;
  else if (d.opcode_map == ZYDIS_OPCODE_MAP_DEFAULT && d.opcode >= 0xe0 && d.opcode <= 0xe3 && d.length == 2)
    in.kind = Insn::Kind::ShortLoop;  // with an address-size prefix (ecx) they stay Other: uncounted
  return in;  // calls and the rest: Other, with their target kept
}

// Whether insns[i], a backward jump, closes a loop that does nothing: its
// target is an instruction boundary and every instruction from there up to
// the jump is a nop or a pause.
bool is_spin_site(const std::vector<Insn>& insns, size_t i) {
  const Insn& jump = insns[i];
  if ((jump.kind != Insn::Kind::ShortJmp && jump.kind != Insn::Kind::NearJmp) || jump.target > jump.addr) return false;
  uint64_t at = jump.addr;
  for (size_t j = i; j > 0 && at > jump.target; --j) {
    const Insn& before = insns[j - 1];
    if (!before.inert || before.addr + before.len != at) return false;
    at = before.addr;
  }
  return at == jump.target;
}


// The instructions a poll loop may hold: loads, compares and arithmetic on
// registers, nops and pauses. Nothing here writes memory once its memory
// operands are checked, makes a system call or leaves the line.
bool poll_mnemonic(ZydisMnemonic m) {
  switch (m) {
    case ZYDIS_MNEMONIC_MOV: case ZYDIS_MNEMONIC_MOVZX: case ZYDIS_MNEMONIC_MOVSX: case ZYDIS_MNEMONIC_MOVSXD:
    case ZYDIS_MNEMONIC_TEST: case ZYDIS_MNEMONIC_CMP: case ZYDIS_MNEMONIC_AND: case ZYDIS_MNEMONIC_OR:
    case ZYDIS_MNEMONIC_XOR: case ZYDIS_MNEMONIC_ADD: case ZYDIS_MNEMONIC_SUB: case ZYDIS_MNEMONIC_LEA:
    case ZYDIS_MNEMONIC_NOP: case ZYDIS_MNEMONIC_PAUSE: case ZYDIS_MNEMONIC_LFENCE: case ZYDIS_MNEMONIC_MFENCE:
    case ZYDIS_MNEMONIC_JB: case ZYDIS_MNEMONIC_JBE: case ZYDIS_MNEMONIC_JL: case ZYDIS_MNEMONIC_JLE:
    case ZYDIS_MNEMONIC_JNB: case ZYDIS_MNEMONIC_JNBE: case ZYDIS_MNEMONIC_JNL: case ZYDIS_MNEMONIC_JNLE:
    case ZYDIS_MNEMONIC_JNO: case ZYDIS_MNEMONIC_JNP: case ZYDIS_MNEMONIC_JNS: case ZYDIS_MNEMONIC_JNZ:
    case ZYDIS_MNEMONIC_JO: case ZYDIS_MNEMONIC_JP: case ZYDIS_MNEMONIC_JS: case ZYDIS_MNEMONIC_JZ:
      return true;
    default:
      return false;
  }
}

constexpr ZydisAccessedFlagsMask kStatusFlags = ZYDIS_CPUFLAG_CF | ZYDIS_CPUFLAG_PF | ZYDIS_CPUFLAG_AF |
                                                ZYDIS_CPUFLAG_ZF | ZYDIS_CPUFLAG_SF | ZYDIS_CPUFLAG_OF;

// What one instruction of a loop reads and writes, by whole register
// (`rflags` stands for the status flags).
struct Access {
  std::set<ZydisRegister> reads, writes, defines;  // defines: written whole, whatever was there
};

// False when the instruction writes memory or is none a poll loop may hold.
bool poll_access(const ZydisDecodedInstruction& d, const ZydisDecodedOperand* ops, Access& a) {
  if (!poll_mnemonic(d.mnemonic) || (d.attributes & (ZYDIS_ATTRIB_HAS_LOCK | ZYDIS_ATTRIB_HAS_REP))) return false;
  // `xor eax, eax` and `sub eax, eax` read nothing.
  bool zero_idiom = (d.mnemonic == ZYDIS_MNEMONIC_XOR || d.mnemonic == ZYDIS_MNEMONIC_SUB) &&
                    d.operand_count_visible == 2 && ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
                    ops[1].type == ZYDIS_OPERAND_TYPE_REGISTER && ops[0].reg.value == ops[1].reg.value;
  auto whole = [](ZydisRegister r) { return ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r); };
  auto read = [&](ZydisRegister r) {
    if (r != ZYDIS_REGISTER_NONE && r != ZYDIS_REGISTER_RIP) a.reads.insert(whole(r));
  };
  for (size_t k = 0; k < d.operand_count; ++k) {
    const ZydisDecodedOperand& op = ops[k];
    if (op.type == ZYDIS_OPERAND_TYPE_MEMORY) {
      if (op.actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) return false;
      read(op.mem.base);
      read(op.mem.index);
      continue;
    }
    if (op.type != ZYDIS_OPERAND_TYPE_REGISTER) continue;
    ZydisRegister r = op.reg.value;
    ZydisRegisterClass c = ZydisRegisterGetClass(r);
    if (c == ZYDIS_REGCLASS_FLAGS || c == ZYDIS_REGCLASS_IP) continue;  // the flags: below
    if ((op.actions & ZYDIS_OPERAND_ACTION_MASK_READ) && !zero_idiom) read(r);
    if (!(op.actions & ZYDIS_OPERAND_ACTION_MASK_WRITE)) continue;
    a.writes.insert(whole(r));
    // A write of 32 or 64 bits of a general register replaces all of it;
    // a narrower one keeps the rest, which is read.
    bool full = op.actions & ZYDIS_OPERAND_ACTION_WRITE && (c == ZYDIS_REGCLASS_GPR32 || c == ZYDIS_REGCLASS_GPR64);
    if (full)
      a.defines.insert(whole(r));
    else
      read(r);
  }
  if (d.cpu_flags) {
    const ZydisAccessedFlags& f = *d.cpu_flags;
    ZydisAccessedFlagsMask written = f.modified | f.set_0 | f.set_1 | f.undefined;
    if (f.tested & kStatusFlags) a.reads.insert(ZYDIS_REGISTER_RFLAGS);
    if (written & kStatusFlags) a.writes.insert(ZYDIS_REGISTER_RFLAGS);
    if ((written & kStatusFlags) == kStatusFlags) a.defines.insert(ZYDIS_REGISTER_RFLAGS);
    else if (written & kStatusFlags) a.reads.insert(ZYDIS_REGISTER_RFLAGS);
  }
  return true;
}

// Whether insns[i], a backward conditional branch, closes a loop that only
// reads: every instruction from its target up to it is one poll_access
// allows, none writes memory, and no register (or flag) is read in a turn
// before that turn writes it, if any instruction of the loop writes it. A
// turn of such a loop is then a function of the memory it reads alone, and
// once the branch is taken it is taken at every turn until another thread,
// a signal handler or the kernel changes that memory.
bool is_poll_site(const uint8_t* code, uint64_t code_addr, const std::vector<Insn>& insns, size_t i) {
  constexpr size_t kPollLoopMax = 16;  // instructions
  const Insn& br = insns[i];
  if ((br.kind != Insn::Kind::ShortJcc && br.kind != Insn::Kind::NearJcc) || br.target >= br.addr) return false;
  size_t first = i;
  while (first > 0 && insns[first - 1].addr >= br.target && i - first < kPollLoopMax) --first;
  if (first == i || insns[first].addr != br.target) return false;
  ZydisDecoder decoder;
  ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  std::vector<Access> turn;
  std::set<ZydisRegister> written;
  for (size_t k = first; k <= i; ++k) {
    if (k > first && insns[k - 1].addr + insns[k - 1].len != insns[k].addr) return false;
    if (k < i && insns[k].target) return false;  // one line: no branch out of or inside the loop
    ZydisDecodedInstruction d;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    uint64_t off = insns[k].addr - code_addr;
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, code + off, insns[k].len, &d, ops))) return false;
    Access a;
    if (!poll_access(d, ops, a)) return false;
    written.insert(a.writes.begin(), a.writes.end());
    turn.push_back(std::move(a));
  }
  std::set<ZydisRegister> defined;
  for (const Access& a : turn) {
    for (ZydisRegister r : a.reads)
      if (written.count(r) && !defined.count(r)) return false;
    defined.insert(a.defines.begin(), a.defines.end());
  }
  return true;
}

// Whether the code at `target` writes every status flag before it reads
// any, on its one way on (following direct jmps, through at most 32
// instructions), so that a stub in front of it may change them: a lean stub
// serves it. Anything the walk cannot see through is taken to read them: a
// conditional branch, cmov or setcc of a flag not yet written, a return (a
// hand-written routine may return in the flags), an indirect jump, a system
// call (it copies the flags into r11), a call (the callee may make one before
// it writes the flags), an interrupt, bytes that do not decode or a target
// that is no instruction boundary. A shift or rotate by a count in a register
// writes none (a count of 0 leaves the flags as they were).
// A lean stub's flags do not depend on the count (make_lean_stub), but
// they are not the program's: they must not reach code that reads them.
bool flags_dead_at(const ZydisDecoder& decoder, const uint8_t* code, uint64_t code_addr,
                   const std::vector<Insn>& insns, uint64_t target) {
  constexpr int kWalkMax = 32;
  ZydisAccessedFlagsMask unknown = kStatusFlags;  // flags the code may still read as they came
  auto at_addr = [&](uint64_t a) -> size_t {  // the instruction at `a`, or insns.size()
    auto it = std::lower_bound(insns.begin(), insns.end(), a, [](const Insn& in, uint64_t x) { return in.addr < x; });
    return it != insns.end() && it->addr == a ? (size_t)(it - insns.begin()) : insns.size();
  };
  size_t k = at_addr(target);
  for (int n = 0; n < kWalkMax; ++n) {
    if (k == insns.size() || insns[k].len == 0) return false;
    const Insn& in = insns[k];
    // Operands are decoded only for the shifts and rotates that need them.
    ZydisDecoderContext context;
    ZydisDecodedInstruction d;
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&decoder, &context, code + (in.addr - code_addr), in.len, &d)))
      return false;
    switch (d.meta.category) {
      case ZYDIS_CATEGORY_UNCOND_BR:
        if (in.kind != Insn::Kind::ShortJmp && in.kind != Insn::Kind::NearJmp) return false;
        k = at_addr(in.target);
        continue;
      case ZYDIS_CATEGORY_CALL: case ZYDIS_CATEGORY_RET: case ZYDIS_CATEGORY_SYSCALL: case ZYDIS_CATEGORY_SYSRET:
      case ZYDIS_CATEGORY_INTERRUPT: case ZYDIS_CATEGORY_SYSTEM: case ZYDIS_CATEGORY_INVALID:
        return false;
      default:
        break;
    }
    if (d.cpu_flags) {
      if (d.cpu_flags->tested & unknown) return false;
      bool counted_shift = false;
      if ((d.meta.category == ZYDIS_CATEGORY_SHIFT || d.meta.category == ZYDIS_CATEGORY_ROTATE) &&
          d.operand_count_visible >= 2) {
        ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT_VISIBLE];
        if (!ZYAN_SUCCESS(ZydisDecoderDecodeOperands(&decoder, &context, &d, ops, d.operand_count_visible)))
          return false;
        counted_shift = ops[d.operand_count_visible - 1].type == ZYDIS_OPERAND_TYPE_REGISTER;
      }
      if (!counted_shift)
        unknown &= ~(d.cpu_flags->modified | d.cpu_flags->set_0 | d.cpu_flags->set_1 | d.cpu_flags->undefined);
      if (!(unknown & kStatusFlags)) return true;
    }
    if (d.meta.category == ZYDIS_CATEGORY_COND_BR) return false;  // leaves the one way on
    k = k + 1 < insns.size() && insns[k + 1].addr == in.addr + in.len ? k + 1 : insns.size();
  }
  return false;
}

// Where the run of padding (nops and int3s) that starts at `at` ends, at
// most at `limit`; its instructions go to `out` when it is given.
uint64_t padding_run(const ZydisDecoder& decoder, const uint8_t* code, uint64_t code_addr, uint64_t at, uint64_t limit,
                     bool nops_are_padding, std::vector<Insn>* out) {
  while (at < limit) {
    ZydisDecodedInstruction d;
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&decoder, nullptr, code + (at - code_addr), limit - at, &d))) break;
    Insn in = classify(d, at, nops_are_padding);
    if (in.kind != Insn::Kind::Padding) break;
    if (out) out->push_back(in);
    at += d.length;
  }
  return at;
}

// Islands in the alignment padding that ends at `function` (a function's
// start), within bytes from `from` on that no function holds (code without
// unwind tables, such as the C runtime's start-up stubs, or data). The
// padding is the shortest stretch ending there that decodes as nothing but
// nops and int3s, at most kMaxAlignment bytes; islands go from its end
// backwards, where it is surely the assembler's alignment and not the tail
// of a table. It only serves if the function is aligned (padding leads into
// it) and the stretch begins after something that is not padding.
std::vector<uint64_t> padding_islands_before(const uint8_t* code, uint64_t code_addr, uint64_t from,
                                             uint64_t function, bool nops_are_padding) {
  constexpr uint64_t kMaxAlignment = 64;
  std::vector<uint64_t> out;
  if (function % 16 != 0 || function - from < kIslandSize) return out;
  ZydisDecoder decoder = sweep_decoder();
  auto all_padding = [&](uint64_t start) { return padding_run(decoder, code, code_addr, start, function, nops_are_padding, nullptr) == function; };
  uint64_t lowest = std::max(from + 1, function >= kMaxAlignment ? function - kMaxAlignment : 0);
  uint64_t start = function;
  for (uint64_t p = lowest; p + kIslandSize <= function; ++p)
    if (all_padding(p)) {
      start = p;
      break;
    }
  for (uint64_t end = function; end >= start + kIslandSize; end -= kIslandSize) out.push_back(end - kIslandSize);
  return out;
}

// Whether an instruction may run elsewhere than where it is: what it does
// does not depend on its address (but for a rip-relative operand, which
// the move corrects: *rip_relative), it does not leave the straight line,
// enter the kernel, or read what the recorder must see (the clock, random
// numbers, cpuid).
bool movable(const ZydisDecodedInstruction& d, const ZydisDecodedOperand* ops, bool* rip_relative) {
  switch (d.meta.category) {
    case ZYDIS_CATEGORY_DATAXFER: case ZYDIS_CATEGORY_BINARY: case ZYDIS_CATEGORY_LOGICAL:
    case ZYDIS_CATEGORY_SHIFT: case ZYDIS_CATEGORY_ROTATE: case ZYDIS_CATEGORY_BITBYTE:
    case ZYDIS_CATEGORY_CMOV: case ZYDIS_CATEGORY_SETCC: case ZYDIS_CATEGORY_CONVERT:
    case ZYDIS_CATEGORY_PUSH: case ZYDIS_CATEGORY_POP: case ZYDIS_CATEGORY_SEMAPHORE:
    case ZYDIS_CATEGORY_STRINGOP: case ZYDIS_CATEGORY_SSE: case ZYDIS_CATEGORY_AVX:
    case ZYDIS_CATEGORY_AVX2: case ZYDIS_CATEGORY_AVX512: case ZYDIS_CATEGORY_LOGICAL_FP:
    case ZYDIS_CATEGORY_BMI1: case ZYDIS_CATEGORY_BMI2: case ZYDIS_CATEGORY_BLEND:
    case ZYDIS_CATEGORY_BROADCAST: case ZYDIS_CATEGORY_VFMA: case ZYDIS_CATEGORY_X87_ALU:
    case ZYDIS_CATEGORY_FCMOV: case ZYDIS_CATEGORY_LZCNT:
      break;
    case ZYDIS_CATEGORY_MISC:
      if (d.mnemonic != ZYDIS_MNEMONIC_LEA) return false;
      break;
    default:
      return false;
  }
  *rip_relative = false;
  for (size_t k = 0; k < d.operand_count; ++k) {
    const ZydisDecodedOperand& op = ops[k];
    if (op.type == ZYDIS_OPERAND_TYPE_IMMEDIATE && op.imm.is_relative) return false;
    if (op.type == ZYDIS_OPERAND_TYPE_MEMORY && (op.mem.base == ZYDIS_REGISTER_RIP || op.mem.base == ZYDIS_REGISTER_EIP)) {
      if (d.raw.disp.size != 32) return false;
      *rip_relative = true;
    }
    if (op.type == ZYDIS_OPERAND_TYPE_REGISTER && op.reg.value == ZYDIS_REGISTER_RIP) return false;
  }
  return true;
}

// Short backward branches that found no island (`left`, indices into
// `insns`): each whose instructions just before it, or just after it, can
// be moved together with it into a block among the stubs counts through
// that block. The run moved is the shortest that ends with the branch
// (a *preceding* run) and is at least a jump long; failing that, for a
// conditional branch, the shortest that starts with it (a *following* run:
// `loop .`, whose target is itself, has no preceding run that nothing
// enters inside). A run stays in one function, holds nothing but `movable`
// instructions besides the branch, none that bytes which did not decode
// shadow, no direct branch's target but at its first instruction, nothing
// of a poll site's loop, and lies in no function with an indirect jump.
// Its first instruction becomes a jump to the block (int3s fill the rest,
// never run), so that every way into the run (at its start: a branch, a
// return, a fall through) still works. The block runs the run's
// instructions in their order (rip-relative operands corrected); its copy
// of the branch, taken, goes on to the target's stub (which counts and
// goes on to the target), and the block ends with a jump back to the
// instruction after the run.
template <typename StubFor>
void move_into_blocks(const uint8_t* code, uint64_t code_addr, const std::vector<Insn>& insns,
                      const std::vector<uint64_t>& targets, const std::vector<bool>& indirect_jump,
                      const std::vector<std::pair<uint64_t, uint64_t>>& poll_loops, const std::vector<size_t>& left,
                      StubFor& stub_for, size_t stub_room, RewritePlan& plan) {
  ZydisDecoder decoder;
  ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  auto is_target = [&](uint64_t a) { return std::binary_search(targets.begin(), targets.end(), a); };
  auto in_poll_loop = [&](uint64_t from, uint64_t to) {
    for (const auto& [start, end] : poll_loops)
      if (start < to && from < end) return true;
    return false;
  };
  struct Run {
    size_t first, branch, last;  // insns[first..last], the branch among them (first or last)
    int64_t stub;
    std::vector<uint8_t> disp_at;  // per instruction of the run: where its rip-relative displacement is (0: none)
  };
  // Whether insns[k] may move into a block with the branch insns[br]:
  // `disp_at` is set to where its rip-relative displacement is (0: none).
  auto may_move = [&](size_t k, size_t br, uint8_t* disp_at) {
    const Insn& in = insns[k];
    if (in.fn != insns[br].fn || in.shadowed || in.kind != Insn::Kind::Other) return false;
    ZydisDecodedInstruction d;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    bool rel = false;
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, code + (in.addr - code_addr), in.len, &d, ops)) ||
        !movable(d, ops, &rel))
      return false;
    *disp_at = rel ? d.raw.disp.offset : 0;
    return true;
  };
  std::vector<Run> runs;
  // Instructions a run already chosen moves: runs may not overlap (one
  // branch's following run and the next one's preceding run could).
  std::vector<bool> claimed(insns.size(), false);
  for (size_t i : left) {
    const Insn& br = insns[i];
    // Backward ones only: every loop has one, which is what a thread that
    // computes needs counted, and each block costs a few instructions.
    bool conditional = br.kind == Insn::Kind::ShortJcc || br.kind == Insn::Kind::ShortLoop;
    if ((!conditional && br.kind != Insn::Kind::ShortJmp) || br.target > br.addr || br.len != 2 || br.shadowed ||
        indirect_jump[br.fn])
      continue;
    Run run{i, i, i, -1, {0}};
    bool ok = false;
    // Preceding: nothing may aim at the branch, which becomes an inner one.
    for (size_t first = i; !is_target(br.addr) && first > 0;) {
      const Insn& prev = insns[first - 1];
      if (prev.addr + prev.len != insns[first].addr) break;
      // Moving `prev` makes the instruction after it an inner one.
      if (first != i && is_target(insns[first].addr)) break;
      uint8_t disp_at = 0;
      if (claimed[first - 1] || !may_move(first - 1, i, &disp_at)) break;
      --first;
      run.disp_at.insert(run.disp_at.begin(), disp_at);
      if (br.addr + br.len - insns[first].addr >= kIslandSize) {
        run.first = first;
        ok = true;
        break;
      }
    }
    // Following: what comes after a conditional branch is reached by
    // falling through it, so it is no landing pad nor return address.
    if (!ok && conditional) {
      run.disp_at = {0};
      for (size_t last = i; last + 1 < insns.size();) {
        const Insn& next = insns[last + 1];
        if (insns[last].addr + insns[last].len != next.addr || is_target(next.addr)) break;
        uint8_t disp_at = 0;
        if (claimed[last + 1] || !may_move(last + 1, i, &disp_at)) break;
        ++last;
        run.disp_at.push_back(disp_at);
        if (next.addr + next.len - br.addr >= kIslandSize) {
          run.last = last;
          ok = true;
          break;
        }
      }
    }
    if (!ok || in_poll_loop(insns[run.first].addr, insns[run.last].addr + insns[run.last].len)) continue;
    run.stub = stub_for(br.target);
    if (run.stub < 0) continue;
    for (size_t k = run.first; k <= run.last; ++k) claimed[k] = true;
    runs.push_back(std::move(run));
  }
  // The blocks, after every stub.
  plan.blocks_at = plan.stubs.size();
  for (const Run& r : runs) {
    const Insn& br = insns[r.branch];
    uint64_t start = insns[r.first].addr, end = insns[r.last].addr + insns[r.last].len;
    size_t header = (plan.stubs.size() + 15) & ~size_t(15);
    size_t at = header + kMovedHeaderSize;  // the block's offset
    std::string block;
    std::vector<uint32_t> outward;
    bool fits = true;
    auto rel_to = [&](uint64_t to, size_t field_end) { return (int64_t)to - (int64_t)(plan.stub_base + at + field_end); };
    auto jump = [&](uint8_t opcode_head, uint64_t to, bool out) {  // a rel32 jump or jcc to `to`
      if (opcode_head != kJmpRel32) block += '\x0f';
      block += (char)opcode_head;
      block += std::string(4, '\0');
      int64_t d = rel_to(to, block.size());
      fits = fits && fits32(d);
      put32(block, block.size() - 4, (uint32_t)(int32_t)d);
      if (out) outward.push_back((uint32_t)(at + block.size() - 4));
    };
    for (size_t k = r.first; k <= r.last; ++k) {
      const Insn& in = insns[k];
      if (k == r.branch) {
        uint8_t op = code[br.addr - code_addr];
        if (br.kind == Insn::Kind::ShortJmp) {
          jump(kJmpRel32, (uint64_t)r.stub, false);
        } else if (br.kind == Insn::Kind::ShortJcc && r.branch == r.last) {
          jump((uint8_t)(0x80 | (op & 0x0f)), (uint64_t)r.stub, false);
        } else {
          // The branch as it is, taken over a short jump to a jump to the
          // stub (`loop` has no near form; a jcc in a following run keeps
          // the block's shape one).
          block += (char)op;
          block += '\x02';
          block += std::string("\xeb\x05", 2);
          jump(kJmpRel32, (uint64_t)r.stub, false);
        }
        continue;
      }
      size_t off = block.size();
      block.append(reinterpret_cast<const char*>(code + (in.addr - code_addr)), in.len);
      size_t disp_at = r.disp_at[k - r.first];
      if (disp_at == 0) continue;
      int32_t disp;
      memcpy(&disp, &block[off + disp_at], 4);
      int64_t moved = rel_to(in.addr + in.len + disp, off + in.len);
      fits = fits && fits32(moved);
      put32(block, off + disp_at, (uint32_t)(int32_t)moved);
      outward.push_back((uint32_t)(at + off + disp_at));
    }
    if (br.kind != Insn::Kind::ShortJmp) jump(kJmpRel32, end, true);  // not taken: on after the run
    int64_t into = (int64_t)(plan.stub_base + at) - (int64_t)(start + kIslandSize);
    if (!fits || !fits32(into) || at + block.size() > stub_room || block.size() > kMovedBlockMax) {
      ++plan.uncovered;
      continue;
    }
    std::string& stubs = plan.stubs.own();
    stubs.resize(header + 8, '\xcc');
    stubs.append(kMovedMagic, 7);
    stubs += (char)block.size();
    stubs += block;
    plan.outward.insert(plan.outward.end(), outward.begin(), outward.end());
    std::string into_block(end - start, '\xcc');
    into_block[0] = (char)kJmpRel32;
    put32(into_block, 1, (uint32_t)(int32_t)into);
    plan.patches.push_back({start, into_block});
    ++plan.counted;
    ++plan.moved;
  }
  plan.uncovered += left.size() - runs.size();
}

}  // namespace

RewritePlan plan_branch_rewrite(const uint8_t* code, size_t len, uint64_t code_addr,
                                const std::vector<AddrRange>& functions, uint64_t stub_base, size_t stub_room,
                                const CounterSlots& slots, bool nops_are_padding) {
  RewritePlan plan;
  plan.stub_base = stub_base;
  ZydisDecoder decoder = sweep_decoder();
  std::vector<Insn> insns;
  insns.reserve(len / 3);  // compiled x86-64 averages about 4 bytes an instruction
  std::vector<uint64_t> targets;  // of every direct branch and call: never inside an island
  uint64_t section_end = code_addr + len;
  std::vector<uint64_t> before_functions;  // islands in the alignment padding that leads into a function
  if (!functions.empty() && functions[0].start > code_addr)
    before_functions = padding_islands_before(code, code_addr, code_addr, std::min(functions[0].start, section_end),
                                              nops_are_padding);
  // Functions with an indirect jump (a switch's table, a computed goto)
  // may be entered at instructions no direct branch names: none of their
  // code is moved.
  std::vector<bool> indirect_jump(functions.size(), false);
  for (size_t f = 0; f < functions.size(); ++f) {
    uint64_t start = std::max(functions[f].start, code_addr), end = std::min(functions[f].end, section_end);
    uint64_t shadow_end = 0;
    for (uint64_t at = start; at < end;) {
      size_t off = at - code_addr;
      ZydisDecodedInstruction d;
      if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&decoder, nullptr, code + off, end - at, &d))) {
        shadow_end = at + 1 + kDesyncShadow;
        insns.push_back(Insn{at, 1});
        ++at;
        continue;
      }
      Insn in = classify(d, at, nops_are_padding);
      in.fn = (uint32_t)f;
      if (in.target) targets.push_back(in.target);
      if (d.mnemonic == ZYDIS_MNEMONIC_JMP && !d.raw.imm[0].is_relative) indirect_jump[f] = true;
      if (in.addr < shadow_end) {
        in.kind = Insn::Kind::Other;  // never rewritten, and no island
        in.target = 0;
        in.inert = false;
        in.shadowed = true;
      }
      insns.push_back(in);
      at += d.length;
    }
    // The padding right after the function, up to the next one: what
    // follows it there may be data, and is not looked at.
    uint64_t gap_end = f + 1 < functions.size() ? std::min(functions[f + 1].start, section_end) : section_end;
    uint64_t at = padding_run(decoder, code, code_addr, end, gap_end, nops_are_padding, &insns);
    if (at < gap_end && gap_end < section_end) {
      for (uint64_t island : padding_islands_before(code, code_addr, at, gap_end, nops_are_padding)) before_functions.push_back(island);
    }
  }
  std::sort(targets.begin(), targets.end());
  targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
  // Islands: alignment padding after an unconditional jump or return, which
  // nothing falls into and no direct branch aims at.
  std::vector<uint64_t> islands;
  for (size_t i = 1; i < insns.size(); ++i) {
    Insn::Kind before = insns[i - 1].kind;
    bool after_end = (before == Insn::Kind::Ends || before == Insn::Kind::NearJmp || before == Insn::Kind::ShortJmp) &&
                     insns[i - 1].addr + insns[i - 1].len == insns[i].addr;
    if (insns[i].kind != Insn::Kind::Padding || !after_end) continue;
    uint64_t start = insns[i].addr, end = start;
    size_t j = i;
    while (j < insns.size() && insns[j].kind == Insn::Kind::Padding && insns[j].addr == end) end += insns[j++].len;
    for (uint64_t a = start; a + kIslandSize <= end; a += kIslandSize) {
      auto hit = std::lower_bound(targets.begin(), targets.end(), a);
      if (hit != targets.end() && *hit < a + kIslandSize) continue;
      islands.push_back(a);
    }
    i = j - 1;
  }
  for (uint64_t a : before_functions) {
    auto hit = std::lower_bound(targets.begin(), targets.end(), a);
    if (hit == targets.end() || *hit >= a + kIslandSize) islands.push_back(a);
  }
  std::sort(islands.begin(), islands.end());
  std::vector<bool> island_used(islands.size(), false);
  // Within the reach of an 8-bit displacement from the end of a branch.
  auto in_reach = [](uint64_t from, uint64_t island) {
    int64_t d = (int64_t)(island - from);
    return d >= -128 && d <= 127;
  };
  auto take_island = [&](uint64_t from) -> int64_t {
    auto lo = std::lower_bound(islands.begin(), islands.end(), from >= 128 ? from - 128 : 0);
    for (auto it = lo; it != islands.end() && *it <= from + 127; ++it) {
      size_t k = (size_t)(it - islands.begin());
      if (island_used[k]) continue;
      island_used[k] = true;
      return (int64_t)*it;
    }
    return -1;
  };
  // Branches to one target share its stub, and short ones share an island
  // to that stub when one is in reach: islands are few.
  // (Each target's stub by its index in `targets`, which holds every
  // branch's: a map's lookups were a tenth of the planner's time.)
  constexpr uint64_t kNoStub = ~0ull;
  std::vector<uint64_t> stub_of_target(targets.size(), kNoStub);
  auto target_index = [&](uint64_t target) {
    return (size_t)(std::lower_bound(targets.begin(), targets.end(), target) - targets.begin());
  };
  std::unordered_map<uint64_t, std::vector<uint64_t>> islands_of_stub;
  ZydisDecoder full_decoder;  // flags_dead_at's: it needs the flags each instruction reads and writes
  ZydisDecoderInit(&full_decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  bool out_of_reach = false;  // of the branch being rewritten
  auto reaches = [&](int64_t displacement) {
    if (!fits32(displacement)) out_of_reach = true;
    return !out_of_reach;
  };
  auto stub_for = [&](uint64_t target) -> int64_t {
    size_t index = target_index(target);
    if (index == targets.size() || targets[index] != target) return -1;  // every branch's target is there
    if (stub_of_target[index] != kNoStub) return (int64_t)stub_of_target[index];
    uint64_t stub = stub_base + plan.stubs.size();
    bool lean = flags_dead_at(full_decoder, code, code_addr, insns, target);
    size_t size = lean ? kLeanStubSize : kStubSize;
    if (plan.stubs.size() + size > stub_room || !reaches((int64_t)(target - (stub + size))) ||
        !reaches((int64_t)(target - stub)))
      return -1;
    plan.stubs.own() += lean ? make_lean_stub(stub, target, slots) : make_stub(stub, target, slots);
    plan.lean_stubs += lean;
    stub_of_target[index] = stub;
    return (int64_t)stub;
  };
  auto rewrite = [&](const Insn& in) {
    uint64_t end = in.addr + in.len;
    bool near = in.kind == Insn::Kind::NearJcc || in.kind == Insn::Kind::NearJmp;
    int64_t island = -1;
    if (!near) {
      // An island first: a stub made for a branch that then finds none
      // would only take room.
      size_t index = target_index(in.target);
      if (index < targets.size() && stub_of_target[index] != kNoStub)
        for (uint64_t i : islands_of_stub[stub_of_target[index]])
          if (in_reach(end, i)) island = (int64_t)i;
      if (island < 0) {
        island = take_island(end);
        if (island < 0) return false;
        int64_t stub = stub_for(in.target);
        if (stub < 0 || !reaches(stub - (island + (int64_t)kIslandSize))) return false;
        std::string jump(kIslandSize, '\0');
        jump[0] = (char)kJmpRel32;
        put32(jump, 1, (uint32_t)(int32_t)(stub - (island + (int64_t)kIslandSize)));
        plan.patches.push_back({(uint64_t)island, jump});
        islands_of_stub[(uint64_t)stub].push_back((uint64_t)island);
      }
      plan.patches.push_back({in.addr + in.disp_offset, std::string(1, (char)(int8_t)(island - (int64_t)end))});
      return true;
    }
    int64_t stub = stub_for(in.target);
    if (stub < 0 || !reaches(stub - (int64_t)end)) return false;
    std::string d(4, '\0');
    put32(d, 0, (uint32_t)(int32_t)(stub - (int64_t)end));
    plan.patches.push_back({in.addr + in.disp_offset, d});
    return true;
  };
  std::set<uint64_t> spins;
  for (size_t i = 0; i < insns.size(); ++i)
    if (is_spin_site(insns, i)) spins.insert(insns[i].addr);
  plan.spin_sites.assign(spins.begin(), spins.end());
  // Backward branches first: loops are what a thread can spin in, and they
  // need islands most.
  std::vector<size_t> uncounted;
  for (bool backward : {true, false})
    for (const Insn& in : insns) {
      if (spins.count(in.addr)) continue;
      bool jcc = in.kind == Insn::Kind::ShortJcc || in.kind == Insn::Kind::NearJcc || in.kind == Insn::Kind::ShortLoop;
      bool jmp = in.kind == Insn::Kind::ShortJmp || in.kind == Insn::Kind::NearJmp;
      bool is_backward = in.target <= in.addr;
      if (!(jcc || (jmp && is_backward)) || is_backward != backward) continue;
      out_of_reach = false;
      if (rewrite(in)) {
        ++plan.counted;
        continue;
      }
      uncounted.push_back(&in - insns.data());
      plan.out_of_reach += out_of_reach;
    }
  // Uncounted loops that only read wait for memory to change: their branch
  // becomes a trap the recorder and replay both handle (a poll site), unless
  // a patch (an island) lies in the loop.
  // (Patches by address, looked up per loop: a scan of all of them per
  // loop cost seconds on python3's 35,000 uncounted branches.)
  std::vector<std::pair<uint64_t, uint64_t>> patched_ranges;  // [addr, end), by addr
  for (const PatchList::Ref& p : plan.patches) patched_ranges.push_back({p.addr, p.addr + p.bytes.size()});
  std::sort(patched_ranges.begin(), patched_ranges.end());
  std::vector<size_t> left;  // neither counted nor poll sites
  std::vector<std::pair<uint64_t, uint64_t>> poll_loops;  // [target, end of branch)
  for (size_t i : uncounted) {
    const Insn& in = insns[i];
    // Patches are at most kIslandSize bytes long.
    auto it = std::lower_bound(patched_ranges.begin(), patched_ranges.end(),
                               std::make_pair(in.target > kIslandSize ? in.target - kIslandSize : 0, (uint64_t)0));
    bool patched = false;
    for (; it != patched_ranges.end() && it->first < in.addr + in.len; ++it)
      if (it->second > in.target) patched = true;
    if (in.target < in.addr && !patched && is_poll_site(code, code_addr, insns, i)) {
      plan.poll_sites.push_back(in.addr);
      poll_loops.push_back({in.target, in.addr + in.len});
    } else {
      left.push_back(i);
    }
  }
  std::sort(poll_loops.begin(), poll_loops.end());
  move_into_blocks(code, code_addr, insns, targets, indirect_jump, poll_loops, left, stub_for, stub_room, plan);
  std::sort(plan.poll_sites.begin(), plan.poll_sites.end());
  return plan;
}

void PatchList::push_back(const CodePatch& p) {
  if (raw_.size() + 16 + p.bytes.size() > UINT32_MAX) abort();  // a plan of 4 GiB: never made
  sorted_ = -1;
  std::string& raw = raw_.own();
  at_.push_back((uint32_t)raw.size());
  uint64_t len = p.bytes.size();
  raw.append(reinterpret_cast<const char*>(&p.addr), 8);
  raw.append(reinterpret_cast<const char*>(&len), 8);
  raw += p.bytes;
}

bool PatchList::is_sorted_by_address() const {
  if (sorted_ < 0) {
    sorted_ = 1;
    for (size_t i = 1; i < size(); ++i)
      if ((*this)[i].addr < (*this)[i - 1].addr) {
        sorted_ = 0;
        break;
      }
  }
  return sorted_ == 1;
}

PatchList PatchList::sorted_by_address() const {
  std::vector<uint32_t> order(size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = (uint32_t)i;
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return (*this)[a].addr < (*this)[b].addr; });
  PatchList out;
  std::string& raw = out.raw_.own();
  raw.reserve(raw_.size());
  out.at_.reserve(at_.size());
  for (uint32_t i : order) {
    Ref r = (*this)[i];
    out.at_.push_back((uint32_t)raw.size());
    raw.append(raw_.data() + at_[i], 16 + r.bytes.size());
  }
  return out;
}

std::optional<PatchList> PatchList::parse(const char** p, const char* end, uint64_t n,
                                          std::shared_ptr<const void> keep) {
  const char* start = *p;
  const char* q = start;
  if ((uint64_t)(end - start) > UINT32_MAX) end = start + UINT32_MAX;
  PatchList out;
  out.at_.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t len;
    if ((size_t)(end - q) < 16) return std::nullopt;
    memcpy(&len, q + 8, 8);
    if (len > (uint64_t)(end - q) - 16) return std::nullopt;
    out.at_.push_back((uint32_t)(q - start));
    q += 16 + len;
  }
  out.raw_ = SharedBytes(std::move(keep), std::string_view(start, q - start));
  *p = q;
  return out;
}

std::optional<RewritePlan> relocate_plan(const RewritePlan& plan, uint64_t stub_base, const CounterSlots& slots) {
  if (plan.out_of_reach) return std::nullopt;
  int64_t delta = (int64_t)(stub_base - plan.stub_base);
  RewritePlan out = plan;
  out.stub_base = stub_base;
  std::string& stubs = out.stubs.own();
  // Each stub moves to the same offset of the new area, to the same
  // target: its two jumps there (the count's way on and the trap's) aim
  // back by as much as it moved. (Making each stub anew took a sixth of
  // the recorder's time at python3's start once its plans were stored.)
  const std::string lean = make_lean_stub(0, 0, slots), full = make_stub(0, 0, slots);
  constexpr size_t kLeanJumps[] = {14, 20}, kFullJumps[] = {39, 53};  // their displacements
  size_t stubs_end = plan.moved ? plan.blocks_at : plan.stubs.size();
  for (size_t at = 0; at < stubs_end;) {
    const char* head = plan.stubs.data() + at;
    size_t left = stubs_end - at;
    bool is_lean = left >= kLeanStubSize && memcmp(head, lean.data(), 14) == 0;
    if (!is_lean && !(left >= kStubSize && memcmp(head, full.data(), 38) == 0 && (uint8_t)head[38] == kJmpRel32))
      return std::nullopt;
    size_t size = is_lean ? kLeanStubSize : kStubSize;
    const size_t* jumps = is_lean ? kLeanJumps : kFullJumps;
    int32_t rel;
    memcpy(&rel, head + jumps[0], 4);
    uint64_t target = plan.stub_base + at + jumps[0] + 4 + rel;
    uint64_t stub = stub_base + at;
    if (!fits32((int64_t)(target - (stub + size))) || !fits32((int64_t)(target - stub))) return std::nullopt;
    for (size_t k = 0; k < 2; ++k) put32(stubs, at + jumps[k], (uint32_t)(int32_t)(target - (stub + jumps[k] + 4)));
    at += size;
  }
  // The moved blocks as they are (their jumps to the stubs move with them)
  // but for their displacements that aim out of the stub area.
  for (uint32_t at : plan.outward) {
    int32_t rel;
    memcpy(&rel, &stubs[at], 4);
    if (!fits32((int64_t)rel - delta)) return std::nullopt;
    put32(stubs, at, (uint32_t)(int32_t)((int64_t)rel - delta));
  }
  // The code's displacements into the stubs: a near branch's (4 bytes), an
  // island's jump (5) and the jump to a moved block (5 or more, int3s after
  // it). A short branch's (1 byte) aims at its island, which stays where it is.
  for (size_t i = 0; i < out.patches.size(); ++i) {
    size_t len = out.patches[i].bytes.size();
    char* bytes = out.patches.mutable_bytes(i);
    size_t disp_at = len == 4                                                  ? 0
                     : len >= kIslandSize && (uint8_t)bytes[0] == kJmpRel32 ? 1
                                                                            : len;
    if (disp_at == len) continue;
    int32_t rel;
    memcpy(&rel, bytes + disp_at, 4);
    if (!fits32((int64_t)rel + delta)) return std::nullopt;
    int32_t moved = (int32_t)((int64_t)rel + delta);
    memcpy(bytes + disp_at, &moved, 4);
  }
  return out;
}

std::optional<uint64_t> stub_target_of(const uint8_t* head, size_t len, uint64_t at, const CounterSlots& slots) {
  int32_t rel;
  std::string lean = make_lean_stub(0, 0, slots);
  if (len >= kLeanStubSize && memcmp(head, lean.data(), 14) == 0) {
    memcpy(&rel, head + 14, 4);  // its jmp after the count
    return at + 18 + rel;
  }
  std::string full = make_stub(0, 0, slots);
  if (len >= kStubSize && memcmp(head, full.data(), 38) == 0 && head[38] == 0xe9) {
    memcpy(&rel, head + 39, 4);  // its jmp after the count
    return at + 43 + rel;
  }
  return std::nullopt;
}

bool ends_at_stub_trap(const uint8_t* before, const CounterSlots& slots) {
  // A full stub: `mov rcx, [saved_rcx]; int3`.
  std::string full = mov_from_abs((uint32_t)slots.saved_rcx) + '\xcc';
  if (memcmp(before + kStubTrapLookback - full.size(), full.data(), full.size()) == 0) return true;
  // A lean one: `sub qword [remaining], 1; je; cmp eax, eax; jmp rel32; int3`.
  std::string lean = make_lean_stub(0, 0, slots);
  static_assert(kLeanStubTrapOffset + 1 == kStubTrapLookback, "a lean stub's trap ends its lookback");
  return memcmp(before, lean.data(), 14) == 0 && before[kLeanStubTrapOffset] == 0xcc;
}

}  // namespace rr
