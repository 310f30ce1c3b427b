// The rr page: two pages at a fixed address that the supervisor maps into
// every tracee, in recording and in replay alike, so that address spaces
// match. The first (r-x) holds instructions the supervisor jumps to when it
// runs a syscall inside the tracee; the second (rw-) is scratch memory for
// the arguments of such syscalls (paths, structs). The tracee's own code
// never touches either.
#pragma once

#include <cstdint>

#include "util/types.h"

struct clone_args;  // <linux/sched.h>

namespace rr {

constexpr uint64_t kRrPageAddr = 0x70000000;
constexpr uint64_t kRrPageSize = 2 * kPageSize;
// `syscall; int3`: the injected syscall returns into a breakpoint trap.
constexpr uint64_t kRrSyscallInsn = kRrPageAddr;
constexpr uint64_t kRrScratch = kRrPageAddr + kPageSize;
constexpr uint64_t kRrScratchSize = kPageSize;
// Where an injected clone3 finds its arguments: at the scratch page's start,
// followed by the one tid its set_tid asks for.
inline constexpr RemotePtr<clone_args> kCloneArgsAt{kRrScratch};

// Where RemoteSyscalls::batch puts its loop of calls, on the code page,
// for the while it runs (the page holds nothing else there).
constexpr uint64_t kRrBatchCode = kRrPageAddr + 0x800;

// Whether [start, end) lies within the rr page.
constexpr bool in_rr_page(RemotePtr<> start, RemotePtr<> end) {
  return start >= RemotePtr<>(kRrPageAddr) && end <= RemotePtr<>(kRrPageAddr) + kRrPageSize;
}

// The bytes of the code page's start.
inline constexpr uint8_t kRrPageCode[] = {0x0f, 0x05, 0xcc};

// The syscall buffer's entry (preload/syscall_buffer.h): the one syscall
// instruction the recorder's seccomp filter lets through, and in replay
// the same place without a syscall; then the byte that tells the library
// which road it is on.
inline constexpr uint8_t kRrBufferedEntryRecord[] = {0x0f, 0x05, 0xc3};  // syscall; ret
inline constexpr uint8_t kRrBufferedEntryReplay[] = {0x66, 0x90, 0xc3};  // nop; ret

}  // namespace rr
