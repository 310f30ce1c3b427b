// What every tracee process gets before it runs anything of the program's,
// in recording and in replay alike: the settings that make its execution
// repeatable (docs/architecture.md, "Determinism").
#pragma once

#include <sys/types.h>

namespace rr {

// The CPU a new recording pins its tracees to: one this process may run on
// (cpuid's APIC id differs per CPU, so record and replay use the same one).
int choose_cpu();
// Pins thread `tid` (0: the calling one) to `cpu`; false if it is not allowed.
bool pin_to_cpu(int cpu, pid_t tid = 0);
// In a new tracee process, before it stops for the supervisor: no address
// randomization, rdtsc/rdtscp trap (PR_SET_TSC), pinned to `cpu`, no
// blocked signal, every signal action the default.
void prepare_tracee_process(int cpu);
// In a new tracee process, last: becomes a tracee of its parent and stops
// with SIGSTOP, where the supervisor takes it (attach_new_tracee in
// core/session.h). A raw tkill, since after a raw clone3 the C library's
// idea of our tid is the supervisor's.
void stop_for_tracer();

}  // namespace rr
