// Seccomp filters installed by the program run for real while recording,
// and they apply to the syscalls the recorder runs inside the tracee too
// (RemoteSyscalls, from the rr page). So the recorder installs each filter
// behind a short prefix that allows a syscall made from the rr page's
// syscall instruction and gives every other one to the program's filter,
// which then starts as it would have (accumulator and index register 0).
// Replay installs no filter: what the filters decided reached the program
// through recorded results and signals.
#pragma once

#include <linux/filter.h>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rr {

// Instructions the prefix adds in front of a filter.
constexpr size_t kFilterPrefixLength = 7;

// `program` with the prefix that allows syscalls whose seccomp_data
// instruction_pointer (the address after the syscall instruction) is `ip`.
std::vector<sock_filter> prefix_filter(const std::vector<sock_filter>& program, uint64_t ip);

}  // namespace rr
