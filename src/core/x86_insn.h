// Questions about one x86-64 instruction's bytes, answered by the same
// decoder (Zydis) the progress counter's planner uses.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rr {

// Whether `code` (up to `n` bytes, an instruction's start) is a string
// instruction with a rep, repe or repne prefix (movs, stos, lods, cmps,
// scas, ins, outs): the only instructions a stop can find between two of
// their iterations. A rep prefix on anything else (`rep ret`, `pause`) or
// bytes that do not decode answer false.
bool rep_string_insn(const uint8_t* code, size_t n);

// The bytes `pushf` at `code` pushes (8 for pushfq, 2 with an operand-size
// prefix) and its length, or 0 if it is not pushf: stepped by a tracer, it
// pushes the trap flag the tracer set, which the program never sees when it
// is not stepped.
struct Pushf {
  unsigned width = 0;
  unsigned length = 0;
};
Pushf pushf_insn(const uint8_t* code, size_t n);

}  // namespace rr
