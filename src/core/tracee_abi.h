// The x86-64 layouts of the structures syscalls pass through tracee memory,
// with tracee pointers as plain integers; the asserts tie them to the libc
// headers. Read and written through RemotePtr<TraceeX>.
#pragma once

#include <signal.h>
#include <sys/socket.h>
#include <sys/ucontext.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

namespace rr {

// The tracee's structures, with tracee pointers as plain integers. The
// layouts are the x86-64 kernel's; the asserts tie them to the libc headers.
struct TraceeIovec {
  uint64_t base;
  uint64_t len;
};
static_assert(sizeof(TraceeIovec) == sizeof(struct iovec));

struct TraceeMsghdr {
  uint64_t name;
  uint32_t namelen;
  uint32_t pad0;
  uint64_t iov;
  uint64_t iovlen;
  uint64_t control;
  uint64_t controllen;
  int32_t flags;
  uint32_t pad1;
};
static_assert(sizeof(TraceeMsghdr) == sizeof(struct msghdr));
static_assert(offsetof(TraceeMsghdr, namelen) == offsetof(struct msghdr, msg_namelen));
static_assert(offsetof(TraceeMsghdr, iov) == offsetof(struct msghdr, msg_iov));
static_assert(offsetof(TraceeMsghdr, iovlen) == offsetof(struct msghdr, msg_iovlen));
static_assert(offsetof(TraceeMsghdr, control) == offsetof(struct msghdr, msg_control));
static_assert(offsetof(TraceeMsghdr, controllen) == offsetof(struct msghdr, msg_controllen));
static_assert(offsetof(TraceeMsghdr, flags) == offsetof(struct msghdr, msg_flags));

struct TraceeMmsghdr {
  TraceeMsghdr hdr;
  uint32_t len;
  uint32_t pad;
};
static_assert(sizeof(TraceeMmsghdr) == sizeof(struct mmsghdr) && sizeof(TraceeMmsghdr) == 64);
static_assert(offsetof(TraceeMmsghdr, len) == offsetof(struct mmsghdr, msg_len));

// The kernel's struct sigaction (rt_sigaction's; libc's has a larger mask).
struct TraceeSigaction {
  uint64_t handler;
  uint64_t flags;
  uint64_t restorer;
  uint64_t mask;
};
static_assert(sizeof(TraceeSigaction) == 32);

// The start of the rt_sigframe the kernel pushes for a handler, at the
// handler's stack pointer: the return address, then the ucontext up to the
// machine context's pointer to the FPU image (kernel rt_sigframe, ucontext,
// sigcontext_64).
struct TraceeSigframe {
  uint64_t pretcode;
  uint64_t uc_flags;
  uint64_t uc_link;
  stack_t uc_stack;
  uint64_t gregs[19];  // r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags, cs/gs/fs/ss
  uint64_t err;
  uint64_t trapno;
  uint64_t oldmask;
  uint64_t cr2;
  uint64_t fpstate;  // the FPU image's address, 0 if none
};
static_assert(offsetof(TraceeSigframe, gregs) == 8 + offsetof(ucontext_t, uc_mcontext));
static_assert(offsetof(TraceeSigframe, err) == 8 + offsetof(ucontext_t, uc_mcontext.gregs[REG_ERR]));
static_assert(offsetof(TraceeSigframe, cr2) == 8 + offsetof(ucontext_t, uc_mcontext.gregs[REG_CR2]));
static_assert(offsetof(TraceeSigframe, fpstate) == 8 + offsetof(ucontext_t, uc_mcontext.fpregs));

// The software-reserved bytes of an FXSAVE image (kernel _fpx_sw_bytes):
// a magic number when an XSAVE image follows, and that image's size.
struct TraceeFpxSwBytes {
  uint32_t magic1;
  uint32_t extended_size;
};
constexpr uint64_t kFxsaveSwBytesOffset = 464;
constexpr uint32_t kFpXstateMagic1 = 0x46505853u;

// The kernel caps iovec arrays and mmsghdr vectors at UIO_MAXIOV; a larger
// count fails, so a successful call never has one.
constexpr uint64_t kMaxIov = 1024;

}  // namespace rr
