#include "core/x86_insn.h"

#include <Zydis/Zydis.h>

namespace rr {

bool rep_string_insn(const uint8_t* code, size_t n) {
  ZydisDecoder decoder;
  ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  ZydisDecodedInstruction d;
  if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&decoder, nullptr, code, n, &d))) return false;
  // Zydis marks the prefix only where the instruction takes it.
  return d.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE);
}

Pushf pushf_insn(const uint8_t* code, size_t n) {
  ZydisDecoder decoder;
  ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  ZydisDecodedInstruction d;
  if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&decoder, nullptr, code, n, &d))) return {};
  if (d.mnemonic != ZYDIS_MNEMONIC_PUSHFQ && d.mnemonic != ZYDIS_MNEMONIC_PUSHF) return {};
  return Pushf{d.operand_width / 8u, d.length};
}

}  // namespace rr
