/* librrpreload.so: the part of the syscall buffer that runs inside the
 * tracee (docs/syscall-buffer.md). `rr record --syscall-buffer` preloads it;
 * it replaces the libc entry points of syscalls that never block and whose
 * results replay can feed back (clocks, ids, the stat family, lseek) with
 * wrappers that make the call through the rr page's allowed instruction and
 * keep its result in the buffer, without a ptrace stop.
 *
 * The same code runs in recording and in replay; only the rr page differs
 * (no syscall in replay, and the road flag). Rules that keep both roads
 * alike: no vector registers (built with -mgeneral-regs-only), no calls to
 * what this file replaces, the scratch registers cleared on the way out.
 * A call that cannot be buffered goes through this library's own syscall
 * instruction, which the recorder traces like any other. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "syscall_buffer.h"

#define EXPORT __attribute__((visibility("default")))

#define AT_FDCWD_ (-100)
#define AT_SYMLINK_NOFOLLOW_ 0x100
#define MS_ASYNC_ 1

struct timespec_ {
  int64_t tv_sec;
  int64_t tv_nsec;
};

static int enabled;

static struct rr_buffer_header* header(void) { return (struct rr_buffer_header*)RR_BUFFER_ADDR; }

static int replaying(void) { return *(volatile uint8_t*)RR_ROAD_FLAG_ADDR == RR_ROAD_REPLAY; }

/* The library's own `syscall; ret`, which the recorder's filter traces:
 * a call made there is an event of its own. */
extern char rr_traced_entry[];
__asm__(".text\nrr_traced_entry:\n  syscall\n  ret\n");

/* Syscall `nr` through `entry`: the traced one above, or the rr page's
 * buffered one (the kernel while recording, nothing in replay, where rax
 * still holds the number on return). */
static long syscall_at(uint64_t entry, long nr, long a0, long a1, long a2, long a3, long a4) {
  register long r10 __asm__("r10") = a3;
  register long r8 __asm__("r8") = a4;
  long ret;
  __asm__ volatile("call *%[entry]"
                   : "=a"(ret)
                   : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), [entry] "r"(entry)
                   : "rcx", "r11", "memory");
  return ret;
}

static long traced_syscall(long nr, long a0, long a1, long a2, long a3, long a4) {
  return syscall_at((uint64_t)rr_traced_entry, nr, a0, a1, a2, a3, a4);
}

static long as_libc_result(long ret) {
  if (ret < 0 && ret > -4096) {
    errno = (int)-ret;
    return -1;
  }
  return ret;
}

static void copy_bytes(void* to, const void* from, uint32_t n) {
  volatile uint8_t* d = to;
  const volatile uint8_t* s = from;
  for (uint32_t i = 0; i < n; ++i) d[i] = s[i];
}

/* Makes syscall `nr`; when it writes `out_len` bytes at argument `out_arg`
 * (-1: none), the kernel writes them into the record and they are copied to
 * `out` when the call succeeded. Returns the kernel's result. */
static long buffered(long nr, long a[5], int out_arg, void* out, uint32_t out_len) {
  struct rr_buffer_header* h = header();
  uint32_t size = rr_buffer_record_size(out_len);
  if (!enabled || h->locked || (out_arg >= 0 && !out) || h->used + size > h->available) {
    if (out_arg >= 0) a[out_arg] = (long)out;
    return traced_syscall(nr, a[0], a[1], a[2], a[3], a[4]);
  }
  struct rr_buffer_record* rec =
      (struct rr_buffer_record*)((char*)RR_BUFFER_ADDR + sizeof(struct rr_buffer_header) + h->used);
  if (replaying() && (rec->number != nr || rec->size != size)) __builtin_trap();  /* a divergence replay reports */
  rec->number = nr;
  rec->size = size;
  rec->out_len = out_len;
  char* data = (char*)(rec + 1);
  if (out_arg >= 0) a[out_arg] = (long)data;
  long ret = syscall_at(RR_BUFFERED_ENTRY, nr, a[0], a[1], a[2], a[3], a[4]);
  if (replaying()) ret = rec->result;
  else rec->result = ret;
  if (ret >= 0 && out_arg >= 0) copy_bytes(out, data, out_len);
  h->used += size;
  return ret;
}

/* Clears what the two roads may leave differently in the scratch
 * registers and the flags before returning to the program. */
#define CLEAN_RETURN(value)                                                                              \
  do {                                                                                                   \
    long v_ = (value);                                                                                   \
    __asm__ volatile("xor %%ecx, %%ecx\n\txor %%edx, %%edx\n\txor %%esi, %%esi\n\txor %%edi, %%edi\n\t" \
                     "xor %%r8d, %%r8d\n\txor %%r9d, %%r9d\n\txor %%r10d, %%r10d\n\txor %%r11d, %%r11d"  \
                     : "+a"(v_)                                                                          \
                     :                                                                                   \
                     : "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "cc");                      \
    return v_;                                                                                           \
  } while (0)

static long call0(long nr) {
  long a[5] = {0, 0, 0, 0, 0};
  return as_libc_result(buffered(nr, a, -1, 0, 0));
}

static long stat_call(long nr, long a0, long a1, long a2, long a3, int out_arg, void* out, uint32_t len) {
  long a[5] = {a0, a1, a2, a3, 0};
  return as_libc_result(buffered(nr, a, out_arg, out, len));
}

enum { kStatSize = 144, kStatxSize = 256 };

EXPORT int clock_gettime(int clock, struct timespec_* ts) {
  long a[5] = {clock, 0, 0, 0, 0};
  CLEAN_RETURN(as_libc_result(buffered(SYS_clock_gettime, a, 1, ts, sizeof *ts)));
}

EXPORT int gettimeofday(void* tv, void* tz) {
  long a[5] = {(long)tv, (long)tz, 0, 0, 0};
  if (tz) CLEAN_RETURN(as_libc_result(traced_syscall(SYS_gettimeofday, (long)tv, (long)tz, 0, 0, 0)));
  CLEAN_RETURN(as_libc_result(buffered(SYS_gettimeofday, a, 0, tv, 16)));
}

EXPORT int64_t time(int64_t* tloc) {
  long a[5] = {0, 0, 0, 0, 0};
  long t = buffered(SYS_time, a, -1, 0, 0);
  if (t >= 0 && tloc) *tloc = t;
  CLEAN_RETURN(as_libc_result(t));
}

EXPORT int getpid(void) { CLEAN_RETURN(call0(SYS_getpid)); }
EXPORT int gettid(void) { CLEAN_RETURN(call0(SYS_gettid)); }

EXPORT int64_t lseek(int fd, int64_t offset, int whence) {
  long a[5] = {fd, offset, whence, 0, 0};
  CLEAN_RETURN(as_libc_result(buffered(SYS_lseek, a, -1, 0, 0)));
}
EXPORT int64_t lseek64(int fd, int64_t offset, int whence) { return lseek(fd, offset, whence); }

EXPORT int fstatat(int dirfd, const char* path, void* buf, int flags) {
  CLEAN_RETURN(stat_call(SYS_newfstatat, dirfd, (long)path, (long)buf, flags, 2, buf, kStatSize));
}
EXPORT int fstatat64(int dirfd, const char* path, void* buf, int flags) { return fstatat(dirfd, path, buf, flags); }
EXPORT int stat(const char* path, void* buf) { return fstatat(AT_FDCWD_, path, buf, 0); }
EXPORT int stat64(const char* path, void* buf) { return fstatat(AT_FDCWD_, path, buf, 0); }
EXPORT int lstat(const char* path, void* buf) { return fstatat(AT_FDCWD_, path, buf, AT_SYMLINK_NOFOLLOW_); }
EXPORT int lstat64(const char* path, void* buf) { return fstatat(AT_FDCWD_, path, buf, AT_SYMLINK_NOFOLLOW_); }
EXPORT int fstat(int fd, void* buf) { CLEAN_RETURN(stat_call(SYS_fstat, fd, (long)buf, 0, 0, 1, buf, kStatSize)); }
EXPORT int fstat64(int fd, void* buf) { return fstat(fd, buf); }
/* The names binaries built against glibc before 2.33 call; `ver` is 1 on
 * x86-64, where the kernel's struct stat is libc's. */
EXPORT int __xstat(int ver, const char* path, void* buf) { (void)ver; return stat(path, buf); }
EXPORT int __xstat64(int ver, const char* path, void* buf) { (void)ver; return stat(path, buf); }
EXPORT int __lxstat(int ver, const char* path, void* buf) { (void)ver; return lstat(path, buf); }
EXPORT int __lxstat64(int ver, const char* path, void* buf) { (void)ver; return lstat(path, buf); }
EXPORT int __fxstat(int ver, int fd, void* buf) { (void)ver; return fstat(fd, buf); }
EXPORT int __fxstat64(int ver, int fd, void* buf) { (void)ver; return fstat(fd, buf); }
EXPORT int __fxstatat(int ver, int dirfd, const char* path, void* buf, int flags) {
  (void)ver;
  return fstatat(dirfd, path, buf, flags);
}
EXPORT int __fxstatat64(int ver, int dirfd, const char* path, void* buf, int flags) {
  (void)ver;
  return fstatat(dirfd, path, buf, flags);
}
EXPORT int statx(int dirfd, const char* path, int flags, unsigned mask, void* buf) {
  long a[5] = {dirfd, (long)path, flags, mask, (long)buf};
  CLEAN_RETURN(as_libc_result(buffered(SYS_statx, a, 4, buf, kStatxSize)));
}

/* The buffer exists only where rr mapped it (msync fails with ENOMEM on an
 * unmapped page): the check is one traced call per process. */
__attribute__((constructor)) static void start(void) {
  if (traced_syscall(SYS_msync, RR_BUFFER_ADDR, 4096, MS_ASYNC_, 0, 0) != 0) return;
  enabled = header()->magic == RR_BUFFER_MAGIC;
}
