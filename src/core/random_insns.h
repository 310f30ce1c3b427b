// rdrand and rdseed: instructions whose results the kernel cannot trap and
// no machine repeats. Without CPUID faulting (none on this project's
// machines) a program cannot be told they are absent, and libraries use
// them when cpuid says so (libgcrypt's entropy gathering, for one). The
// recorder makes each one found in the .text of a file mapped executable
// trap instead: the second opcode byte (0x0f 0xc7) becomes 0x0b, so that the
// instruction, prefixes and all, is a ud2 the CPU faults on. At the SIGILL
// the recorder takes a random value of its own, writes it where the
// instruction would have, and records it; replay applies the same patches
// at the same points and the recorded value at each trap.
// See docs/architecture.md, "Non-deterministic instructions".
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/registers.h"
#include "core/task.h"

namespace rr {

// The byte written over the second opcode byte of a patched instruction.
constexpr uint8_t kRandomTrapByte = 0x0b;

// The offsets, within `len` bytes of code decoded linearly from their first
// byte, of the byte to patch (the 0xc7) of every rdrand and rdseed with a
// register operand. An instruction that follows bytes the decoder could not
// decode by less than a few instructions' length is left out: the sweep may
// be out of step with the real instructions there.
std::vector<size_t> find_random_insns(const uint8_t* code, size_t len);

// A patched rdrand or rdseed as it reads at its trap.
struct RandomInsn {
  bool seed = false;  // rdseed
  int width = 32;     // operand bits: 16, 32 or 64
  int reg = 0;        // destination, 0-15 in the encoding's order (rax, rcx, rdx, rbx, rsp, ...)
  size_t len = 0;     // bytes, prefixes included
};

// Decodes the bytes at a SIGILL's rip as a patched rdrand or rdseed:
// prefixes (0x66, one REX), 0x0f, kRandomTrapByte, a register ModRM whose
// reg field is 6 or 7. nullopt for anything else (a ud2 of the program's).
std::optional<RandomInsn> decode_random_trap(const uint8_t* bytes, size_t n);

// What the instruction does when it succeeds: `value` (cut to the operand
// width) in its destination (a 32-bit write clears the upper half, a 16-bit
// one keeps the rest), CF set and OF, SF, ZF, AF, PF clear, rip past it.
void apply_random(Registers& regs, const RandomInsn& insn, uint64_t value);

// Writes kRandomTrapByte at `addr` of `t`'s memory (an address the
// recorder listed); false when the byte there is not the 0xc7 the recorder
// patched.
bool install_random_trap(Task& t, uint64_t addr);

}  // namespace rr
