// The x86-64 layouts of the structures syscalls pass through tracee memory,
// with tracee pointers as plain integers; the asserts tie them to the libc
// headers. Shared by the table's memory rules and by written_bytes().
#pragma once

#include <sys/socket.h>
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

constexpr uint64_t kMmsghdrSize = sizeof(struct mmsghdr);
constexpr uint64_t kMmsgLenOffset = offsetof(struct mmsghdr, msg_len);
static_assert(kMmsghdrSize == 64 && kMmsgLenOffset == 56);

// The kernel caps iovec arrays and mmsghdr vectors at UIO_MAXIOV; a larger
// count fails, so a successful call never has one.
constexpr uint64_t kMaxIov = 1024;

}  // namespace rr
