// Running a program's seccomp filters in the recorder, to know what the
// kernel will decide for a call before it is made: a tracer inside the
// recording that asked for PTRACE_O_TRACESECCOMP stops its tracee where a
// filter returns SECCOMP_RET_TRACE, and the recorder must hold that stop
// before the call goes on (record/record_ptrace.cc).
//
// Filters are classic BPF as the kernel accepted them (seccomp's subset:
// loads of the seccomp_data words, scratch memory, ALU, jumps, returns);
// the kernel checked them at install, so an instruction outside that set
// ends the run with SECCOMP_RET_KILL_PROCESS, as a malformed program would.
#pragma once

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <cstdint>
#include <vector>

namespace rr {

// The value `program` returns for the call `data` describes.
uint32_t run_seccomp_filter(const std::vector<sock_filter>& program, const seccomp_data& data);

// What the kernel does with the returns of every filter of a task: the
// action of highest precedence (lowest as a signed action number, KILL
// first), with its data.
uint32_t combine_seccomp_returns(const std::vector<uint32_t>& returns);

}  // namespace rr
