#include "core/random_insns.h"

#include <Zydis/Zydis.h>

#include <cstring>

namespace rr {

namespace {

// Bytes after a place the decoder could not decode in which an instruction
// found is not trusted (the sweep may not be in step yet).
constexpr size_t kDesyncShadow = 64;

// Whether the code holds the bytes of a register-form rdrand or rdseed at
// all: most files do not, and are not decoded.
bool has_candidate(const uint8_t* code, size_t len) {
  for (const uint8_t* p = code; len >= 3;) {
    const uint8_t* hit = static_cast<const uint8_t*>(memchr(p, 0x0f, len - 2));
    if (!hit) return false;
    if (hit[1] == 0xc7 && hit[2] >= 0xf0) return true;
    len -= hit + 1 - p;
    p = hit + 1;
  }
  return false;
}

unsigned long long* reg_slot(user_regs_struct& r, int reg) {
  switch (reg) {
    case 0: return &r.rax;
    case 1: return &r.rcx;
    case 2: return &r.rdx;
    case 3: return &r.rbx;
    case 4: return &r.rsp;
    case 5: return &r.rbp;
    case 6: return &r.rsi;
    case 7: return &r.rdi;
    case 8: return &r.r8;
    case 9: return &r.r9;
    case 10: return &r.r10;
    case 11: return &r.r11;
    case 12: return &r.r12;
    case 13: return &r.r13;
    case 14: return &r.r14;
    default: return &r.r15;
  }
}

}  // namespace

std::vector<size_t> find_random_insns(const uint8_t* code, size_t len) {
  std::vector<size_t> sites;
  if (!has_candidate(code, len)) return sites;
  ZydisDecoder decoder;
  ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  size_t trusted_from = 0;
  for (size_t off = 0; off < len;) {
    ZydisDecodedInstruction d;
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&decoder, nullptr, code + off, len - off, &d))) {
      trusted_from = off + 1 + kDesyncShadow;
      ++off;
      continue;
    }
    if ((d.mnemonic == ZYDIS_MNEMONIC_RDRAND || d.mnemonic == ZYDIS_MNEMONIC_RDSEED) && off >= trusted_from &&
        d.length >= 3) {
      size_t c7 = off + d.length - 2;
      // The register form (ModRM mod 3), with the opcode last but its ModRM.
      if (code[c7 - 1] == 0x0f && code[c7] == 0xc7 && (code[c7 + 1] >> 6) == 3) sites.push_back(c7);
    }
    off += d.length;
  }
  return sites;
}

std::optional<RandomInsn> decode_random_trap(const uint8_t* bytes, size_t n) {
  RandomInsn in;
  size_t i = 0;
  bool opsize = false;
  uint8_t rex = 0;
  for (; i < n && i < 4; ++i) {
    if (bytes[i] == 0x66 && !rex) {
      opsize = true;
    } else if ((bytes[i] & 0xf0) == 0x40 && !rex) {
      rex = bytes[i];
    } else {
      break;
    }
  }
  if (i + 3 > n || bytes[i] != 0x0f || bytes[i + 1] != kRandomTrapByte) return std::nullopt;
  uint8_t modrm = bytes[i + 2];
  int op = (modrm >> 3) & 7;
  if ((modrm >> 6) != 3 || (op != 6 && op != 7)) return std::nullopt;
  in.seed = op == 7;
  in.width = (rex & 0x08) ? 64 : opsize ? 16 : 32;
  in.reg = (modrm & 7) | ((rex & 0x01) ? 8 : 0);
  in.len = i + 3;
  return in;
}

void apply_random(Registers& regs, const RandomInsn& insn, uint64_t value) {
  user_regs_struct& r = regs.raw();
  unsigned long long* dest = reg_slot(r, insn.reg);
  if (insn.width == 64)
    *dest = value;
  else if (insn.width == 32)
    *dest = value & 0xffffffffu;
  else
    *dest = (*dest & ~0xffffull) | (value & 0xffff);
  constexpr uint64_t kCF = 1, kPF = 1 << 2, kAF = 1 << 4, kZF = 1 << 6, kSF = 1 << 7, kOF = 1 << 11;
  r.eflags = (r.eflags & ~(kPF | kAF | kZF | kSF | kOF)) | kCF;
  r.rip += insn.len;
}

bool install_random_trap(Task& t, uint64_t addr) {
  uint8_t now = 0;
  if (!t.read_mem(RemotePtr<>(addr), &now, 1) || now != 0xc7) return false;
  return t.try_write_mem(RemotePtr<>(addr), &kRandomTrapByte, 1);
}

}  // namespace rr
