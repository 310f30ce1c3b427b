#include "trace/machine.h"

#include <cpuid.h>
#include <cstdio>
#include <cstdlib>
#include <sched.h>

namespace rr {

namespace {

std::string hex32(uint32_t v) {
  char buf[16];
  snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// The CPUs this process may run on, as "0-1,4".
std::string allowed_cpus(const cpu_set_t& set) {
  std::string out;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    int last = cpu;
    while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &set)) ++last;
    if (!out.empty()) out += ",";
    out += std::to_string(cpu) + (last > cpu ? "-" + std::to_string(last) : "");
    cpu = last;
  }
  return out.empty() ? "none" : out;
}

std::string feature_difference(const char* what, uint32_t recorded, uint32_t here) {
  return std::string("CPU features differ from the recording machine's (") + what + ": recorded " + hex32(recorded) + ", here " +
         hex32(here) + ", bits " + hex32(recorded ^ here) + ")";
}

}  // namespace

MachineFacts this_machine() {
  MachineFacts m;
  unsigned a, b, c, d;
  if (__get_cpuid(1, &a, &b, &c, &d)) m.cpuid1_ecx = c;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) m.cpuid7_ebx = b;
  if (__get_cpuid_count(0xd, 0, &a, &b, &c, &d)) m.xsave_size = b;
  return m;
}

void machine_to_header(const MachineFacts& m, trace::TraceHeader::Builder h) {
  h.setCpuid1Ecx(m.cpuid1_ecx);
  h.setCpuid7Ebx(m.cpuid7_ebx);
  h.setXsaveSize(m.xsave_size);
}

std::string machine_difference(trace::TraceHeader::Reader h) {
  const char* ignore = getenv(kIgnoreMachineEnv);
  if (ignore && std::string(ignore) != "0") return "";
  std::string why;
  MachineFacts here = this_machine();
  cpu_set_t set;
  CPU_ZERO(&set);
  int cpu = h.getBoundCpu();
  if (sched_getaffinity(0, sizeof(set), &set) != 0) CPU_ZERO(&set);
  if (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &set))
    why = "the trace's tracees ran on CPU " + std::to_string(cpu) + ", which rr cannot use here (CPUs allowed: " +
          allowed_cpus(set) + "); the CPU number and cpuid's answers would differ";
  else if (h.getCpuid1Ecx() != here.cpuid1_ecx)
    why = feature_difference("CPUID leaf 1 ECX", h.getCpuid1Ecx(), here.cpuid1_ecx);
  else if (h.getCpuid7Ebx() != here.cpuid7_ebx)
    why = feature_difference("CPUID leaf 7 EBX", h.getCpuid7Ebx(), here.cpuid7_ebx);
  else if (h.getXsaveSize() && h.getXsaveSize() != here.xsave_size)
    why = "the XSAVE area differs from the recording machine's (" + std::to_string(h.getXsaveSize()) + " bytes recorded, " +
          std::to_string(here.xsave_size) + " here)";
  if (why.empty()) return "";
  return "cannot replay here as recorded: " + why + " (set " + kIgnoreMachineEnv + "=1 to replay anyway)";
}

}  // namespace rr
