// The facts about the machine that a replay depends on beyond the trace:
// the CPU features the program could see (cpuid answers that ld.so and
// libraries branch on), the XSAVE area's size, and the CPU the tracees were
// pinned to. Recording stores them in the trace header; replay refuses to
// run where they differ, because its result could then differ from the
// recording's without any event showing it.
#pragma once

#include <cstdint>
#include <string>

#include "trace/trace.capnp.h"

namespace rr {

struct MachineFacts {
  uint32_t cpuid1_ecx = 0;  // CPUID leaf 1 ECX
  uint32_t cpuid7_ebx = 0;  // CPUID leaf 7 subleaf 0 EBX
  uint32_t xsave_size = 0;  // CPUID leaf 0xD subleaf 0 EBX: bytes of the XSAVE area for the enabled features
};

MachineFacts this_machine();
void machine_to_header(const MachineFacts& m, trace::TraceHeader::Builder h);

// Set (to anything but "0") to replay where the machine differs: the user
// knows the difference does not matter to this program.
constexpr const char* kIgnoreMachineEnv = "RR_IGNORE_MACHINE";

// "" when a replay of a trace with header `h` can run here as recorded;
// else one sentence naming the difference and the way to override it.
std::string machine_difference(trace::TraceHeader::Reader h);

}  // namespace rr
