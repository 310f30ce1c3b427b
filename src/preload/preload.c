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

#include "preload.h"
#include "syscall_buffer.h"


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
/* The call's stop is an event inside the library, whose dead stack below
 * the stack pointer holds what the two roads computed differently (the road
 * flag in try_buffered's frame): the 1024 bytes there are zeroed first,
 * with r11 alone (the syscall takes it and rcx), so that the process's
 * memory at the event is the same in recording and replay (a writer of
 * checkpoints that copies the recorded process needs it;
 * tests/integration/record_state_test.py compares). The compare then sets
 * every status flag the same way on both roads (the flags are saved in r11
 * at the stop), whatever the code before it computed. */
__asm__(".text\n.globl rr_traced_entry\n.hidden rr_traced_entry\nrr_traced_entry:\n"
        "  mov $-1024, %r11\n1:\n  movq $0, (%rsp,%r11)\n  add $8, %r11\n  jnz 1b\n"
        "  cmp %rax, %rax\n  syscall\n  ret\n");

/* Syscall `nr` through `entry`: the traced one above, or the rr page's
 * buffered one (the kernel while recording, nothing in replay, where rax
 * still holds the number on return). */
/* Every register a traced call's stop shows is set here (r9 to the sixth
 * argument, 0 for a call of five), none is left over from what the two
 * roads did before. */
static long syscall_at(uint64_t entry, long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
  register long r10 __asm__("r10") = a3;
  register long r8 __asm__("r8") = a4;
  register long r9 __asm__("r9") = a5;
  long ret;
  __asm__ volatile("call *%[entry]"
                   : "=a"(ret)
                   : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9), [entry] "r"(entry)
                   : "rcx", "r11", "memory");
  return ret;
}

long rr_traced_syscall(long nr, long a0, long a1, long a2, long a3, long a4) {
  return syscall_at((uint64_t)rr_traced_entry, nr, a0, a1, a2, a3, a4, 0);
}
#define traced_syscall rr_traced_syscall

static long as_libc_result(long ret) {
  if (ret < 0 && ret > -4096) {
    errno = (int)-ret;
    return -1;
  }
  return ret;
}

/* rep movsb: fast for the large outputs of reads, and no vector registers
 * (a plain loop could be turned into a call to libc's memcpy). */
void rr_copy_bytes(void* to, const void* from, uint64_t n) {
  __asm__ volatile("rep movsb" : "+D"(to), "+S"(from), "+c"(n) : : "memory");
}
#define copy_bytes rr_copy_bytes

/* Whether the recorder lets `fd` be read (`writing` 0) or written (1)
 * without a stop (struct rr_fd_gate). */
static int fd_open_to(long fd, int writing) {
  if (fd < 0 || fd >= RR_FD_LIMIT) return 0;
  const volatile struct rr_fd_gate* gate = (const volatile struct rr_fd_gate*)RR_FD_GATE_ADDR;
  uint8_t bits = writing ? gate->write[fd / 8] : gate->read[fd / 8];
  return (bits >> (fd % 8)) & 1;
}

enum { kNoFd = -1, kReadFd = 0, kWriteFd = 1 };

/* Whether a call on `fd` may block (a pipe or a socket, struct rr_fd_gate).
 * Recording only: replay reads no gate, and takes the calls the records
 * say were buffered. */
static int fd_may_block(long fd) {
  if (fd < 0 || fd >= RR_FD_LIMIT) return 0;
  const volatile struct rr_fd_gate* gate = (const volatile struct rr_fd_gate*)RR_FD_GATE_ADDR;
  return (gate->block[fd / 8] >> (fd % 8)) & 1;
}

/* This thread's desched event (struct rr_desched). */
static __thread struct rr_desched desched __attribute__((tls_model("initial-exec")));

/* Once per thread, on both roads alike (a traced call is an event): asks
 * the recorder for the thread's desched event. A forked child's copy says
 * it asked and names its parent's event: the recorder gives the child an
 * event of its own under the same number at the fork. */
static void ask_for_desched(void) {
  if (!enabled || desched.asked) return;
  desched.asked = 1;
  long fd = rr_traced_syscall(SYS_getppid, (long)RR_DESCHED_REQUEST, (long)&desched, 0, 0, 0);
  desched.fd = fd >= 0 && fd < 0x7fffffff ? (int32_t)fd : -1;
}

#define PERF_EVENT_IOC_ENABLE_ 0x2400
#define PERF_EVENT_IOC_DISABLE_ 0x2401

struct in_out_region;

/* What one call asks of the buffer: argument `out_arg` (-1: none) points to
 * `out_len` bytes the kernel writes (all of them, or with `variable` as
 * many as the result says, in units of `unit` bytes), and `gate` says
 * whether the call reads or writes the descriptor in argument 0 (kNoFd: it
 * uses none). */
struct call_shape {
  int out_arg;
  uint32_t out_len;
  int variable;
  int gate;
  int keeps_args; /* the record's output is the call's arguments (rr_buffer_keeps_args) */
  int iov;        /* out_arg is an iovec array (readv): the kernel reads into the record
                     through one iovec, and the bytes are spread over the program's */
  int blocks;     /* the call may block whatever its descriptor (a futex wait) */
  uint32_t in_len;  /* bytes the call writes to its descriptor (RR_BLOCKING_WRITE_MAX) */
  uint32_t unit;    /* with `variable`: bytes per unit of the result (0: 1) */
  int in_out;       /* the kernel reads the output bytes first (poll's array): the
                       record starts as a copy of them */
  const struct in_out_region* regions; /* with `nregions`, instead of out_arg: memory
                       the kernel reads and may write back (select's fd sets and
                       timeout), each a copy in the record, end to end */
  int nregions;
  uint32_t prefix;  /* with `variable`: fixed bytes of output before those the
                       result counts (recvmsg's flags) */
};

/* One of a call's in-out arguments (struct call_shape's regions): argument
 * `arg` points to `len` bytes (none when the pointer is null). Copied back
 * whatever the result: bytes the kernel did not write are copied back
 * unchanged. */
struct in_out_region {
  int arg;
  uint32_t len;
};
#define RR_MAX_REGIONS 4

struct iovec_ {
  void* base;
  uint64_t len;
};

/* Spreads `n` bytes over the iovecs `iov` in order. */
static void scatter(const struct iovec_* iov, const char* from, uint64_t n) {
  for (; n > 0; ++iov) {
    uint64_t part = iov->len < n ? iov->len : n;
    rr_copy_bytes(iov->base, from, part);
    from += part;
    n -= part;
  }
}

static long traced_call(long nr, long a[6], void* out, struct call_shape shape) {
  if (shape.out_arg >= 0) a[shape.out_arg] = (long)out;
  return traced_syscall(nr, a[0], a[1], a[2], a[3], a[4]);
}

/* Makes syscall `nr` without a stop when it can: the kernel writes its
 * output into the record, which is copied to `out` when the call succeeded;
 * `*ret` is the kernel's result. Returns 0, having done nothing, for a call
 * that must go the traced way. Recording, a call is buffered when it fits
 * and its descriptor is open to it; in replay, exactly when records of this
 * stretch are left (the recording's buffered calls, in order), so both
 * roads branch alike. */
__attribute__((noinline)) static int try_buffered(long nr, long a[6], void* out, struct call_shape shape, long* ret) {
  struct rr_buffer_header* h = header();
  if (!enabled || h->locked || (shape.out_arg >= 0 && !out)) return 0;
  int replay = replaying();
  struct rr_buffer_record* rec =
      (struct rr_buffer_record*)((char*)RR_BUFFER_ADDR + sizeof(struct rr_buffer_header) + h->used);
  /* The record keeps the arguments as the program passed them. */
  long args[6] = {a[0], a[1], a[2], a[3], a[4], a[5]};
  if (shape.keeps_args) shape.out_len += RR_RECORD_ARGS_LEN;
  uint32_t size = rr_buffer_record_size(shape.out_len);
  int may_block = 0;
  if (replay) {
    if (h->used >= h->available) return 0;
    /* a divergence replay reports */
    if (rec->number != nr || rec->size > h->available - h->used || (!shape.variable && rec->size != size))
      __builtin_trap();
  } else if (shape.out_len > RR_BUFFER_DATA_SIZE || h->used + size > h->available ||
             (shape.gate != kNoFd && !fd_open_to(a[0], shape.gate))) {
    return 0;
  } else {
    may_block = shape.blocks || (shape.gate != kNoFd && fd_may_block(a[0]));
    if (may_block && (!desched.asked || desched.fd < 0 || shape.in_len > RR_BLOCKING_WRITE_MAX)) return 0;
  }
  char* data = (char*)(rec + 1);
  /* Where the in-out regions start: after the arguments the record keeps. */
  const uint32_t regions_at = shape.keeps_args ? RR_RECORD_ARGS_LEN : 0;
  if (shape.nregions) {
    /* As poll's array below, for each region. */
    uint32_t at = regions_at;
    for (int i = 0; i < shape.nregions; ++i) {
      const struct in_out_region* g = &shape.regions[i];
      const volatile char* in = (const volatile char*)a[g->arg];
      if (!in) continue;
      for (uint32_t k = 0; k < g->len; k += 4096) (void)in[k];
      (void)in[g->len - 1];
      if (!replay) copy_bytes(data + at, (const void*)in, g->len);
      a[g->arg] = (long)(data + at);
      at += g->len;
    }
  }
  if (shape.in_out) {
    /* Read on both roads, so that a bad pointer faults at the same
     * instruction in both; only recording copies (replay's record holds
     * what the kernel wrote). */
    const volatile char* in = (const volatile char*)out;
    for (uint32_t i = 0; i < shape.out_len; i += 4096) (void)in[i];
    (void)in[shape.out_len - 1];
    if (!replay) copy_bytes(data, out, shape.out_len);
  }
  struct iovec_ one = {data, shape.out_len};
  if (shape.iov) {
    a[shape.out_arg] = (long)&one;
    a[shape.out_arg + 1] = 1;
  } else if (shape.out_arg >= 0) {
    a[shape.out_arg] = (long)data;
  }
  /* Recording only: in replay nothing blocks, and the records say which
   * calls were buffered. */
  if (may_block) {
    desched.armed = 1;
    syscall_at(RR_BUFFERED_ENTRY, SYS_ioctl, desched.fd, PERF_EVENT_IOC_ENABLE_, 0, 0, 0, 0);
  }
  long r = syscall_at(RR_BUFFERED_ENTRY, nr, a[0], a[1], a[2], a[3], a[4], a[5]);
  if (may_block) {
    syscall_at(RR_BUFFERED_ENTRY, SYS_ioctl, desched.fd, PERF_EVENT_IOC_DISABLE_, 0, 0, 0, 0);
    desched.armed = 0;
  }
  if (replay) {
    r = rec->result;
  } else {
    /* It blocked, and the recorder did not run it: it goes the traced way,
     * where replay, whose records of this stretch end here, goes too. */
    if (r == RR_RESULT_BLOCKED) return 0;
    rec->result = r;
  }
  uint32_t written = shape.out_len;
  if (shape.variable) {
    uint64_t unit = shape.unit ? shape.unit : 1;
    if (r >= 0 && (uint64_t)r > (shape.out_len - shape.prefix) / unit) __builtin_trap();  /* a result replay cannot have recorded */
    written = shape.prefix + (r > 0 ? (uint32_t)((uint64_t)r * unit) : 0);
  }
  rec->number = nr;
  rec->size = rr_buffer_record_size(written);
  rec->out_len = written;
  if (shape.nregions) {
    uint32_t at = regions_at;
    for (int i = 0; i < shape.nregions; ++i) {
      const struct in_out_region* g = &shape.regions[i];
      if (!a[g->arg]) continue;
      copy_bytes(((void* const*)out)[i], data + at, g->len);
      at += g->len;
    }
  }
  if (r >= 0 && shape.iov) scatter((const struct iovec_*)out, data, written);
  else if (r >= 0 && shape.out_arg >= 0) copy_bytes(out, data, written);
  if (shape.keeps_args) copy_bytes(data, args, RR_RECORD_ARGS_LEN);
  h->used += rec->size;
  *ret = r;
  return 1;
}

/* As try_buffered, or else through the traced instruction. */
static long buffered(long nr, long a[6], void* out, struct call_shape shape) {
  long ret;
  if (try_buffered(nr, a, out, shape, &ret)) return ret;
  return traced_call(nr, a, out, shape);
}

static const struct call_shape kNoOutput = {-1, 0, 0, kNoFd, 0, 0};

static struct call_shape fixed_output(int arg, uint32_t len) {
  struct call_shape s = {arg, len, 0, kNoFd, 0, 0};
  return s;
}

/* The same code leaves different values in dead stack and scratch
 * registers on the two roads (the road flag, what the recorder's fd gate
 * says, the kernel's leftovers), and a program may read either later
 * (uninitialized locals, padding copied with vector registers): every
 * entry point returns through here, which zeroes the RR_SCRUB_BYTES below
 * the stack pointer that the implementation's frames used (its measured
 * stack use, -fstack-usage, is about 600 bytes at most: the hook's 400 and
 * try_buffered's 150; 512 left the deepest frames unwiped, and bash and gdb
 * diverged in replay on an FPU state that a vector copy of dead stack gave
 * them), then the scratch registers and the flags, keeping the result in rax. */
#define RR_SCRUB_BYTES 1024
#define STR_(x) #x
#define STR(x) STR_(x)
__asm__(".text\nrr_clean_return:\n"
        "  mov %rax, %r11\n  lea -" STR(RR_SCRUB_BYTES) "(%rsp), %rdi\n  mov $" STR(RR_SCRUB_BYTES) "/8, %ecx\n"
        "  xor %eax, %eax\n  rep stosq\n  mov %r11, %rax\n"
        "  xor %ecx, %ecx\n  xor %edx, %edx\n  xor %esi, %esi\n  xor %edi, %edi\n"
        "  xor %r8d, %r8d\n  xor %r9d, %r9d\n  xor %r10d, %r10d\n  xor %r11d, %r11d\n  ret\n");

static long call0(long nr) {
  long a[6] = {0, 0, 0, 0, 0};
  return as_libc_result(buffered(nr, a, 0, kNoOutput));
}

static long stat_call(long nr, long a0, long a1, long a2, long a3, int out_arg, void* out, uint32_t len) {
  long a[6] = {a0, a1, a2, a3, 0};
  return as_libc_result(buffered(nr, a, out, fixed_output(out_arg, len)));
}

enum { kStatSize = 144, kStatxSize = 256 };

int rr_impl_clock_gettime(int clock, struct timespec_* ts) {
  long a[6] = {clock, 0, 0, 0, 0};
  return as_libc_result(buffered(SYS_clock_gettime, a, ts, fixed_output(1, sizeof *ts)));
}

int rr_impl_gettimeofday(void* tv, void* tz) {
  long a[6] = {(long)tv, (long)tz, 0, 0, 0};
  if (tz) return as_libc_result(traced_syscall(SYS_gettimeofday, (long)tv, (long)tz, 0, 0, 0));
  return as_libc_result(buffered(SYS_gettimeofday, a, tv, fixed_output(0, 16)));
}

int64_t rr_impl_time(int64_t* tloc) {
  long a[6] = {0, 0, 0, 0, 0};
  long t = buffered(SYS_time, a, 0, kNoOutput);
  if (t >= 0 && tloc) *tloc = t;
  return as_libc_result(t);
}

int rr_impl_getpid(void) { return call0(SYS_getpid); }
int rr_impl_gettid(void) { return call0(SYS_gettid); }

int64_t rr_impl_lseek(int fd, int64_t offset, int whence) {
  long a[6] = {fd, offset, whence, 0, 0};
  return as_libc_result(buffered(SYS_lseek, a, 0, kNoOutput));
}
int64_t rr_impl_lseek64(int fd, int64_t offset, int whence) { return rr_impl_lseek(fd, offset, whence); }

int rr_impl_fstatat(int dirfd, const char* path, void* buf, int flags) {
  return stat_call(SYS_newfstatat, dirfd, (long)path, (long)buf, flags, 2, buf, kStatSize);
}
int rr_impl_fstatat64(int dirfd, const char* path, void* buf, int flags) { return rr_impl_fstatat(dirfd, path, buf, flags); }
int rr_impl_stat(const char* path, void* buf) { return rr_impl_fstatat(AT_FDCWD_, path, buf, 0); }
int rr_impl_stat64(const char* path, void* buf) { return rr_impl_fstatat(AT_FDCWD_, path, buf, 0); }
int rr_impl_lstat(const char* path, void* buf) { return rr_impl_fstatat(AT_FDCWD_, path, buf, AT_SYMLINK_NOFOLLOW_); }
int rr_impl_lstat64(const char* path, void* buf) { return rr_impl_fstatat(AT_FDCWD_, path, buf, AT_SYMLINK_NOFOLLOW_); }
int rr_impl_fstat(int fd, void* buf) { return stat_call(SYS_fstat, fd, (long)buf, 0, 0, 1, buf, kStatSize); }
int rr_impl_fstat64(int fd, void* buf) { return rr_impl_fstat(fd, buf); }
/* The names binaries built against glibc before 2.33 call; `ver` is 1 on
 * x86-64, where the kernel's struct stat is libc's. */
int rr_impl___xstat(int ver, const char* path, void* buf) { (void)ver; return rr_impl_stat(path, buf); }
int rr_impl___xstat64(int ver, const char* path, void* buf) { (void)ver; return rr_impl_stat(path, buf); }
int rr_impl___lxstat(int ver, const char* path, void* buf) { (void)ver; return rr_impl_lstat(path, buf); }
int rr_impl___lxstat64(int ver, const char* path, void* buf) { (void)ver; return rr_impl_lstat(path, buf); }
int rr_impl___fxstat(int ver, int fd, void* buf) { (void)ver; return rr_impl_fstat(fd, buf); }
int rr_impl___fxstat64(int ver, int fd, void* buf) { (void)ver; return rr_impl_fstat(fd, buf); }
int rr_impl___fxstatat(int ver, int dirfd, const char* path, void* buf, int flags) {
  (void)ver;
  return rr_impl_fstatat(dirfd, path, buf, flags);
}
int rr_impl___fxstatat64(int ver, int dirfd, const char* path, void* buf, int flags) {
  (void)ver;
  return rr_impl_fstatat(dirfd, path, buf, flags);
}
int rr_impl_statx(int dirfd, const char* path, int flags, unsigned mask, void* buf) {
  long a[6] = {dirfd, (long)path, flags, mask, (long)buf};
  return as_libc_result(buffered(SYS_statx, a, buf, fixed_output(4, kStatxSize)));
}

/* Reads and writes of regular files (struct rr_fd_gate): the bytes read
 * go into the record; the bytes written reach the file as natively, and
 * replay, which never writes to files, needs only the result. */
static long read_call(long nr, long fd, void* buf, uint64_t count, long offset) {
  long a[6] = {fd, (long)buf, (long)count, offset, 0};
  if (count == 0 || count > RR_BUFFER_DATA_SIZE) return as_libc_result(traced_syscall(nr, fd, (long)buf, (long)count, offset, 0));
  struct call_shape s = {1, (uint32_t)count, 1, kReadFd, 0, 0, 0, 0};
  ask_for_desched();
  return as_libc_result(buffered(nr, a, buf, s));
}

/* readv and preadv of a regular file read the iovecs' total into the
 * record as one read would (a file's readv is one read spread over them);
 * no more than 64 iovecs, and at most what the buffer holds. Returns 0,
 * having done nothing, for a call that must go the traced way. */
#define RR_MAX_IOV 64
/* The iovecs' total, or 0 when there are none, too many, or more bytes than
 * the buffer holds. */
static uint64_t iov_total(const struct iovec_* iov, uint64_t count) {
  if (!iov || count == 0 || count > RR_MAX_IOV) return 0;
  uint64_t total = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (iov[i].len > RR_BUFFER_DATA_SIZE) return 0;
    total += iov[i].len;
  }
  return total > RR_BUFFER_DATA_SIZE ? 0 : total;
}

static int try_buffered_readv(long nr, long a[6], long* ret) {
  const struct iovec_* iov = (const struct iovec_*)a[1];
  uint64_t total = a[2] > 0 ? iov_total(iov, (uint64_t)a[2]) : 0;
  if (total == 0) return 0;
  struct call_shape s = {1, (uint32_t)total, 1, kReadFd, 0, 1};
  return try_buffered(nr, a, (void*)iov, s, ret);
}

static long readv_call(long nr, long fd, const void* iov, long count, long offset) {
  long a[6] = {fd, (long)iov, count, offset, 0};
  long ret;
  ask_for_desched();
  if (try_buffered_readv(nr, a, &ret)) return as_libc_result(ret);
  return as_libc_result(traced_syscall(nr, fd, (long)iov, count, offset, 0));
}

static long write_call(long nr, long fd, const void* buf, uint64_t count, long offset) {
  long a[6] = {fd, (long)buf, (long)count, offset, 0};
  struct call_shape s = {-1, 0, 0, kWriteFd, 0, 0, 0, count > 0xffffffffUL ? 0xffffffffU : (uint32_t)count};
  ask_for_desched();
  return as_libc_result(buffered(nr, a, 0, s));
}

int64_t rr_impl_read(int fd, void* buf, uint64_t count) { return read_call(SYS_read, fd, buf, count, 0); }
int64_t rr_impl_pread(int fd, void* buf, uint64_t count, int64_t offset) {
  return read_call(SYS_pread64, fd, buf, count, offset);
}
int64_t rr_impl_pread64(int fd, void* buf, uint64_t count, int64_t offset) { return rr_impl_pread(fd, buf, count, offset); }
int64_t rr_impl_readv(int fd, const void* iov, int count) { return readv_call(SYS_readv, fd, iov, count, 0); }
int64_t rr_impl_preadv(int fd, const void* iov, int count, int64_t offset) {
  return readv_call(SYS_preadv, fd, iov, count, offset);
}
int64_t rr_impl_preadv64(int fd, const void* iov, int count, int64_t offset) { return rr_impl_preadv(fd, iov, count, offset); }
int64_t rr_impl_write(int fd, const void* buf, uint64_t count) { return write_call(SYS_write, fd, buf, count, 0); }
int64_t rr_impl_pwrite(int fd, const void* buf, uint64_t count, int64_t offset) {
  return write_call(SYS_pwrite64, fd, buf, count, offset);
}
int64_t rr_impl_pwrite64(int fd, const void* buf, uint64_t count, int64_t offset) { return rr_impl_pwrite(fd, buf, count, offset); }


/* The entry points the program calls: each calls the implementation above,
 * then wipes the stack it used and the scratch registers (rr_clean_return). */
#define ENTRY(name) \
  __asm__(".text\n.globl " #name "\n.type " #name ",@function\n" #name ":\n" \
          "  sub $8, %rsp\n  call rr_impl_" #name "\n  add $8, %rsp\n  jmp rr_clean_return\n.size " #name ", .-" #name "\n");
ENTRY(clock_gettime)
ENTRY(gettimeofday)
ENTRY(time)
ENTRY(getpid)
ENTRY(gettid)
ENTRY(lseek)
ENTRY(lseek64)
ENTRY(fstatat)
ENTRY(fstatat64)
ENTRY(stat)
ENTRY(stat64)
ENTRY(lstat)
ENTRY(lstat64)
ENTRY(fstat)
ENTRY(fstat64)
ENTRY(__xstat)
ENTRY(__xstat64)
ENTRY(__lxstat)
ENTRY(__lxstat64)
ENTRY(__fxstat)
ENTRY(__fxstat64)
ENTRY(__fxstatat)
ENTRY(__fxstatat64)
ENTRY(statx)
ENTRY(read)
ENTRY(pread)
ENTRY(pread64)
ENTRY(readv)
ENTRY(preadv)
ENTRY(preadv64)
ENTRY(write)
ENTRY(pwrite)
ENTRY(pwrite64)

/* The calls a patched syscall instruction of libc may hand to the buffer
 * (libc_patch.c), as the raw syscalls they are: the same shapes as the
 * entry points above. `len_arg` is the argument that gives the output's
 * length (then `out_len` is the most it may be), `zero_arg` one that must
 * be 0 for the call to be buffered (gettimeofday's timezone, time's tloc). */
struct raw_shape {
  int16_t nr;
  int8_t out_arg;
  int8_t len_arg;
  int8_t zero_arg;
  int8_t gate;
  uint32_t out_len;
};
static const struct raw_shape kRawShapes[] = {
    {SYS_read, 1, 2, -1, kReadFd, 0},
    {SYS_pread64, 1, 2, -1, kReadFd, 0},
    {SYS_write, -1, -1, -1, kWriteFd, 0},
    {SYS_pwrite64, -1, -1, -1, kWriteFd, 0},
    {SYS_writev, -1, -1, -1, kWriteFd, 0},
    {SYS_getdents64, 1, 2, -1, kReadFd, 0},
    {SYS_lseek, -1, -1, -1, kNoFd, 0},
    {SYS_fstat, 1, -1, -1, kNoFd, kStatSize},
    {SYS_stat, 1, -1, -1, kNoFd, kStatSize},
    {SYS_lstat, 1, -1, -1, kNoFd, kStatSize},
    {SYS_newfstatat, 2, -1, -1, kNoFd, kStatSize},
    {SYS_statx, 4, -1, -1, kNoFd, kStatxSize},
    {SYS_clock_gettime, 1, -1, -1, kNoFd, sizeof(struct timespec_)},
    {SYS_gettimeofday, 0, -1, 1, kNoFd, 16},
    {SYS_time, -1, -1, 0, kNoFd, 0},
    {SYS_getpid, -1, -1, -1, kNoFd, 0},
    {SYS_gettid, -1, -1, -1, kNoFd, 0},
    /* A compiler driver resolves its own path (realpath: one readlink per
     * component) and looks for its programs with access: about 1,400 of
     * the 6,500 events of make -j2 of eight C files. */
    {SYS_readlink, 1, 2, -1, kNoFd, 0},
    {SYS_readlinkat, 2, 3, -1, kNoFd, 0},
    {SYS_access, -1, -1, -1, kNoFd, 0},
    {SYS_faccessat, -1, -1, -1, kNoFd, 0},
    {SYS_faccessat2, -1, -1, -1, kNoFd, 0},
    /* sqlite3 syncs its journal and database at every transaction (212 of
     * the 1,049 events of the benchmark's run), and as root gives the
     * journal its database's owner. A sync
     * waits for the disk, never for another thread: not a blocking call.
     * Replay, which writes no files, needs only the results. */
    {SYS_fsync, -1, -1, -1, kReadFd, 0},
    {SYS_fdatasync, -1, -1, -1, kReadFd, 0},
    {SYS_fchown, -1, -1, -1, kReadFd, 0},
    /* The process's ids: no output, no descriptor, as getpid (sqlite3 as
     * root asks geteuid before each fchown). getppid stays traced: the
     * suite and the benchmarks use it as the cheapest traced call. */
    {SYS_getuid, -1, -1, -1, kNoFd, 0},
    {SYS_geteuid, -1, -1, -1, kNoFd, 0},
    {SYS_getgid, -1, -1, -1, kNoFd, 0},
    {SYS_getegid, -1, -1, -1, kNoFd, 0},
    /* Names made, moved and removed: no output, no descriptor; replay,
     * which changes no files, needs only the results (sqlite3 removes its
     * journal after every transaction: 53 of the benchmark's 239 events). */
    {SYS_unlink, -1, -1, -1, kNoFd, 0},
    {SYS_unlinkat, -1, -1, -1, kNoFd, 0},
    {SYS_rmdir, -1, -1, -1, kNoFd, 0},
    {SYS_mkdir, -1, -1, -1, kNoFd, 0},
    {SYS_mkdirat, -1, -1, -1, kNoFd, 0},
    {SYS_rename, -1, -1, -1, kNoFd, 0},
    {SYS_renameat, -1, -1, -1, kNoFd, 0},
    {SYS_renameat2, -1, -1, -1, kNoFd, 0},
};

/* rr_syscall_hook's frame: the call as the patched instruction would have
 * made it, and whether the buffer took it. */
struct hook_call {
  long nr;
  long a[6];
  long handled;
};

#define O_ACCMODE_ 3
#define O_NOCTTY_ 0400
#define O_NONBLOCK_ 04000
#define O_LARGEFILE_ 0100000
#define O_DIRECTORY_ 0200000
#define O_NOFOLLOW_ 0400000
#define O_CLOEXEC_ 02000000
#define S_IFMT_ 0170000
#define S_IFREG_ 0100000
#define S_IFDIR_ 0040000
#define kStatModeOffset 24 /* st_mode in the kernel's struct stat */

/* In both roads: the gate is memory of the process, which replay keeps as
 * the recording had it (the recorder's own rewrites reach replay in the
 * trace, Frame.fdGate), though only the recording reads it. */
static void set_gate_bits(long fd, int read) {
  if (fd < 0 || fd >= RR_FD_LIMIT) return;
  volatile struct rr_fd_gate* gate = (volatile struct rr_fd_gate*)RR_FD_GATE_ADDR;
  uint8_t bit = (uint8_t)(1u << (fd % 8));
  if (read) {
    gate->read[fd / 8] |= bit;
  } else {
    gate->read[fd / 8] &= (uint8_t)~bit;
    gate->write[fd / 8] &= (uint8_t)~bit;
    gate->block[fd / 8] &= (uint8_t)~bit;
  }
}

/* An open for reading of what is, a moment before, a regular file or a
 * directory, or nothing: it cannot block (a FIFO or a device could) and the
 * new descriptor is of the kind the recorder would find (FdTable::Kind::Other).
 * The library opens the gate for reading it at once; the recorder learns of
 * the descriptor from the record at the next event. */
static int buffered_openat(long a[6], long* ret) {
  /* O_NOCTTY does nothing to a file or a directory (grep's fts opens
   * every directory and file with it). */
  long allowed = O_NOCTTY_ | O_NONBLOCK_ | O_LARGEFILE_ | O_DIRECTORY_ | O_NOFOLLOW_ | O_CLOEXEC_;
  if ((a[2] & O_ACCMODE_) != 0 || (a[2] & ~(allowed | O_ACCMODE_)) != 0) return 0;
  uint64_t st[kStatSize / 8];
  long sa[6] = {a[0], a[1], (long)st, (a[2] & O_NOFOLLOW_) ? AT_SYMLINK_NOFOLLOW_ : 0, 0};
  long r;
  if (!try_buffered(SYS_newfstatat, sa, st, fixed_output(2, kStatSize), &r)) return 0;
  /* Nothing there: the open fails the same way (every process's start-up
   * looks for locale and library files that do not exist). */
  if (r != 0 && r != -ENOENT) return 0;
  uint32_t mode = ((uint32_t*)st)[kStatModeOffset / 4] & S_IFMT_;
  if (r == 0 && mode != S_IFREG_ && mode != S_IFDIR_) return 0;
  struct call_shape shape = {-1, 0, 0, kNoFd, 1, 0};
  if (!try_buffered(SYS_openat, a, 0, shape, ret)) return 0;
  if (*ret >= 0) set_gate_bits(*ret, 1);
  return 1;
}

/* A close of a descriptor the gate lets be read that cannot block (a file
 * or a directory; a socket's may wait, SO_LINGER). */
static int buffered_close(long a[6], long* ret) {
  if (!replaying() && fd_may_block(a[0])) return 0;
  struct call_shape shape = {-1, 0, 0, kReadFd, 1, 0};
  if (!try_buffered(SYS_close, a, 0, shape, ret)) return 0;
  if (*ret == 0) set_gate_bits(a[0], 0);
  return 1;
}

#define F_DUPFD_ 0
#define F_GETFD_ 1
#define F_SETFD_ 2
#define F_GETFL_ 3
#define F_GETLK_ 5
#define F_SETLK_ 6
#define F_OFD_GETLK_ 36
#define F_OFD_SETLK_ 37
#define F_DUPFD_CLOEXEC_ 1030
#define kFlockSize 32U /* struct flock on x86-64 */

/* Record locks of a file, POSIX and open file description ones, without
 * waiting (F_SETLKW and F_OFD_SETLKW wait for another process: traced):
 * sqlite3 takes and tests them around every transaction. The kernel reads
 * the struct flock; a test (GETLK) writes it back, so it is an in-out
 * region of the record, after the arguments the record keeps as every
 * fcntl's. Replay takes no lock: it needs only the results, as it does
 * for a traced fcntl. */
static int buffered_lock(long a[6], long* ret) {
  if (!a[2]) return 0;
  if (a[1] == F_SETLK_ || a[1] == F_OFD_SETLK_) {
    struct call_shape set = {-1, 0, 0, kReadFd, 1, 0};
    return try_buffered(SYS_fcntl, a, 0, set, ret);
  }
  struct in_out_region regions[1] = {{2, kFlockSize}};
  void* out[1] = {(void*)a[2]};
  struct call_shape test = {-1, kFlockSize, 0, kReadFd, 1, 0, 0, 0, 0, 0, regions, 1};
  return try_buffered(SYS_fcntl, a, out, test, ret);
}

/* fcntl of a descriptor the gate lets be read (a file or a directory), for
 * the commands that never block and write no memory: the descriptor's
 * flags read, close-on-exec set, and a duplicate made (fts does all three
 * for every directory it enters). The record keeps the arguments, so the
 * recorder's and replay's fd tables follow F_SETFD and the duplicates; the
 * duplicate may be read at once, as its original. */
static int buffered_fcntl(long a[6], long* ret) {
  long cmd = a[1];
  /* A pipe's or a socket's duplicate would need its "block" bit too: traced. */
  if (!replaying() && fd_may_block(a[0])) return 0;
  if (cmd == F_GETLK_ || cmd == F_SETLK_ || cmd == F_OFD_GETLK_ || cmd == F_OFD_SETLK_) return buffered_lock(a, ret);
  if (cmd != F_GETFD_ && cmd != F_GETFL_ && cmd != F_SETFD_ && cmd != F_DUPFD_ && cmd != F_DUPFD_CLOEXEC_) return 0;
  struct call_shape shape = {-1, 0, 0, kReadFd, 1, 0};
  if (!try_buffered(SYS_fcntl, a, 0, shape, ret)) return 0;
  if ((cmd == F_DUPFD_ || cmd == F_DUPFD_CLOEXEC_) && *ret >= 0) set_gate_bits(*ret, 1);
  return 1;
}

/* A signal's action asked and not changed (sigaction(sig, NULL, &old)):
 * python3 asks it of every signal at start, 62 of the 190 events of
 * `python3 -c pass`. Nothing changes, so replay, which executes the
 * calls that set an action, needs only the answer. The record keeps the
 * arguments, so the recorder sees that no action was given
 * (rr_buffer_sigaction_query); the kernel writes the old action, an
 * in-out region: a call it refuses (a bad signal number or mask size)
 * leaves the program's bytes as they were. */
#define kKernelSigactionSize 32U /* handler, flags, restorer, mask */
static int buffered_sigaction_query(long a[6], long* ret) {
  if (a[1] || !a[2]) return 0;
  struct in_out_region regions[1] = {{2, kKernelSigactionSize}};
  void* out[1] = {(void*)a[2]};
  struct call_shape query = {-1, kKernelSigactionSize, 0, kNoFd, 1, 0, 0, 0, 0, 0, regions, 1};
  return try_buffered(SYS_rt_sigaction, a, out, query, ret);
}

/* TCGETS (isatty, tcgetattr) of a descriptor the gate lets be read and
 * that never blocks, a regular file or a directory, which is no terminal:
 * python3 asks it of every file it opens (11 events of `python3 -c pass`).
 * Terminals, pipes and sockets stay traced. The struct termios is an
 * in-out region, so that whatever the file system answers, the program's
 * bytes change only where the kernel wrote them. */
#define TCGETS_ 0x5401
#define kTermiosSize 36U
static int buffered_tcgets(long a[6], long* ret) {
  if (a[1] != TCGETS_ || !a[2] || (!replaying() && fd_may_block(a[0]))) return 0;
  struct call_shape shape = {2, kTermiosSize, 0, kReadFd, 0, 0, 0, 0, 0, 1, 0, 0, 0};
  return try_buffered(SYS_ioctl, a, (void*)a[2], shape, ret);
}

/* FUTEX_WAIT, FUTEX_WAKE, and their BITSET forms, which glibc's condition
 * variables and timed waits use (private or not, with FUTEX_CLOCK_REALTIME
 * or not): no output, the futex word unchanged (a wait's timeout, relative
 * or absolute, is only read); a wait may block. A wait that blocked is
 * made again the traced way with the same timeout: a relative one then
 * waits longer than natively, as under rr. */
#define FUTEX_CMD_MASK_ (~(128 | 256)) /* FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME */
#define FUTEX_WAIT_ 0
#define FUTEX_WAKE_ 1
#define FUTEX_WAIT_BITSET_ 9
#define FUTEX_WAKE_BITSET_ 10
static int buffered_futex(long a[6], long* ret) {
  long cmd = a[1] & FUTEX_CMD_MASK_;
  if (cmd != FUTEX_WAIT_ && cmd != FUTEX_WAKE_ && cmd != FUTEX_WAIT_BITSET_ && cmd != FUTEX_WAKE_BITSET_) return 0;
  int wait = cmd == FUTEX_WAIT_ || cmd == FUTEX_WAIT_BITSET_;
  struct call_shape shape = {-1, 0, 0, kNoFd, 0, 0, wait, 0};
  ask_for_desched();
  return try_buffered(SYS_futex, a, 0, shape, ret);
}

/* Waiting for descriptors: poll and epoll_wait read no descriptor (any
 * kind may be waited for) and may block unless their timeout is 0. poll's
 * array is read and written in place; epoll_wait writes as many 12-byte
 * events as it returns. At most RR_WAIT_MAX entries. */
#define RR_WAIT_MAX 1024
#define kPollfdSize 8
#define kEpollEventSize 12 /* packed on x86-64 */
static int buffered_poll(long a[6], long* ret) {
  if (a[1] <= 0 || a[1] > RR_WAIT_MAX) return 0;
  struct call_shape shape = {0, (uint32_t)(a[1] * kPollfdSize), 0, kNoFd, 0, 0, a[2] != 0, 0, 0, 1};
  ask_for_desched();
  return try_buffered(SYS_poll, a, (void*)a[0], shape, ret);
}

/* epoll_pwait too, without a signal mask (its fifth argument null). */
static int buffered_epoll_wait(long nr, long a[6], long* ret) {
  if (a[2] <= 0 || a[2] > RR_WAIT_MAX || (nr == SYS_epoll_pwait && a[4] != 0)) return 0;
  struct call_shape shape = {1, (uint32_t)(a[2] * kEpollEventSize), 1, kNoFd, 0, 0, a[3] != 0, 0, kEpollEventSize, 0};
  ask_for_desched();
  return try_buffered(nr, a, (void*)a[1], shape, ret);
}

/* The waits with in-out arguments besides their descriptors: ppoll's array
 * and remaining time, select's and pselect6's three fd sets and remaining
 * time, all copied into the record and back (struct in_out_region). Only
 * without a signal mask (ppoll's fourth argument null, pselect6's sixth
 * null or naming a null mask, as glibc's select and pselect without one):
 * a mask the kernel swaps in for the wait would decide which signals
 * interrupt it. `time_arg` is the timeout's argument (null: wait for good)
 * and `time_len` its size. */
static int buffered_waits(long nr, long a[6], struct in_out_region* regions, int n, int time_arg, uint32_t time_len,
                          long* ret) {
  void* out[RR_MAX_REGIONS];
  uint32_t total = 0;
  regions[n].arg = time_arg;
  regions[n].len = time_len;
  ++n;
  for (int i = 0; i < n; ++i) {
    out[i] = (void*)a[regions[i].arg];
    if (out[i]) total += regions[i].len;
  }
  /* A zero timeout never blocks. */
  const int64_t* t = (const int64_t*)a[time_arg];
  int may_block = !t || t[0] != 0 || t[1] != 0;
  struct call_shape shape = {-1, total, 0, kNoFd, 0, 0, may_block, 0, 0, 0, regions, n};
  ask_for_desched();
  return try_buffered(nr, a, out, shape, ret);
}

static int buffered_ppoll(long a[6], long* ret) {
  if (a[1] <= 0 || a[1] > RR_WAIT_MAX || a[3] != 0 || !a[0]) return 0;
  struct in_out_region regions[2] = {{0, (uint32_t)(a[1] * kPollfdSize)}};
  return buffered_waits(SYS_ppoll, a, regions, 1, 2, 16, ret);
}

/* The kernel reads and writes whole longs of each fd set. */
static int buffered_select(long nr, long a[6], long* ret) {
  if (a[0] <= 0 || a[0] > RR_FD_LIMIT) return 0;
  if (nr == SYS_pselect6 && a[5] && *(const long*)a[5] != 0) return 0;
  uint32_t set_len = (uint32_t)((a[0] + 63) / 64 * 8);
  struct in_out_region regions[4] = {{1, set_len}, {2, set_len}, {3, set_len}};
  return buffered_waits(nr, a, regions, 3, 4, 16, ret);
}

/* recv and send (recvfrom and sendto without an address, as glibc makes
 * them) of a descriptor the gate opens: a socket's may block, a file's
 * fails at once. MSG_PEEK and MSG_DONTWAIT only for recv: MSG_TRUNC returns
 * more than the record holds, MSG_WAITALL would return part of what it
 * waits for when the desched signal interrupts it, and MSG_ERRQUEUE reads
 * another queue. */
#define MSG_PEEK_ 0x2
#define MSG_DONTWAIT_ 0x40
static int buffered_recvfrom(long a[6], long* ret) {
  if (a[4] != 0 || (a[3] & ~(long)(MSG_PEEK_ | MSG_DONTWAIT_)) != 0) return 0;
  if (a[2] <= 0 || (uint64_t)a[2] > RR_BUFFER_DATA_SIZE) return 0;
  struct call_shape shape = {1, (uint32_t)a[2], 1, kReadFd, 0, 0, 0, 0, 0, 0};
  ask_for_desched();
  return try_buffered(SYS_recvfrom, a, (void*)a[1], shape, ret);
}

static int buffered_sendto(long a[6], long* ret) {
  if (a[4] != 0) return 0;
  struct call_shape shape = {-1, 0, 0, kWriteFd, 0, 0, 0, (uint64_t)a[2] > 0xffffffffUL ? 0xffffffffU : (uint32_t)a[2], 0, 0};
  ask_for_desched();
  return try_buffered(SYS_sendto, a, 0, shape, ret);
}

/* sendmsg and recvmsg of a descriptor the gate opens, without an address
 * and without control data (no descriptors passed, nothing the kernel
 * writes back but the bytes, msg_flags and msg_controllen): sendmsg as
 * sendto (the kernel only reads the msghdr); recvmsg reads into the record
 * through a msghdr of the library's with one iovec, and the bytes are
 * spread over the program's iovecs, with the flags as recv's. The record
 * holds the msghdr's msg_flags (8 bytes) and the bytes read. */
struct msghdr_ {
  void* name;
  uint32_t namelen;
  const struct iovec_* iov;
  uint64_t iovlen;
  void* control;
  uint64_t controllen;
  int32_t flags;
};
#define kMsgFlagsLen 8U

static int plain_msghdr(const struct msghdr_* m) { return m && !m->name && m->controllen == 0; }

static int buffered_sendmsg(long a[6], long* ret) {
  const struct msghdr_* m = (const struct msghdr_*)a[1];
  if (!plain_msghdr(m)) return 0;
  uint64_t total = iov_total(m->iov, m->iovlen);
  if (total == 0) return 0;
  struct call_shape shape = {-1, 0, 0, kWriteFd, 0, 0, 0, (uint32_t)total, 0, 0};
  ask_for_desched();
  return try_buffered(SYS_sendmsg, a, 0, shape, ret);
}

static int buffered_recvmsg(long a[6], long* ret) {
  struct msghdr_* m = (struct msghdr_*)a[1];
  if (!plain_msghdr(m) || (a[2] & ~(long)(MSG_PEEK_ | MSG_DONTWAIT_)) != 0) return 0;
  uint64_t total = iov_total(m->iov, m->iovlen);
  if (total == 0 || total + kMsgFlagsLen > RR_BUFFER_DATA_SIZE) return 0;
  struct rr_buffer_header* h = header();
  struct rr_buffer_record* rec =
      (struct rr_buffer_record*)((char*)RR_BUFFER_ADDR + sizeof(struct rr_buffer_header) + h->used);
  char* data = (char*)(rec + 1);
  /* The kernel reads into the record through the library's msghdr, and
   * writes its msg_flags there; recording copies them into the record. */
  struct iovec_ one = {data + kMsgFlagsLen, total};
  struct msghdr_ mine = {0, 0, &one, 1, 0, 0, 0};
  long b[6] = {a[0], (long)&mine, a[2], 0, 0, 0};
  struct call_shape shape = {-1, (uint32_t)(kMsgFlagsLen + total), 1, kReadFd, 0, 0, 0, 0, 0, 0, 0, 0, kMsgFlagsLen};
  ask_for_desched();
  if (!try_buffered(SYS_recvmsg, b, 0, shape, ret)) return 0;
  /* try_buffered took the result as the record's length: the flags come
   * first. Recording, the record holds what the kernel wrote. */
  if (*ret >= 0) {
    if (!replaying()) *(int32_t*)data = mine.flags;
    scatter(m->iov, data + kMsgFlagsLen, (uint64_t)*ret);
    m->flags = *(const int32_t*)data;
    m->controllen = 0;
  }
  return 1;
}

/* connect may block (a stream socket's, until the peer answers); one that
 * blocked is made again the traced way, where the kernel goes on with the
 * connection the first began, as it does at a restart. No output. */
static int buffered_connect(long a[6], long* ret) {
  struct call_shape shape = {-1, 0, 0, kReadFd, 0, 0, 0, 0, 0, 0};
  ask_for_desched();
  return try_buffered(SYS_connect, a, 0, shape, ret);
}

/* accept and accept4 of a listening socket the gate opens (they may block)
 * make a descriptor: the record keeps the arguments, as an open's, so the
 * recorder's and replay's fd tables follow, then the peer's address and its
 * length as in-out regions (the kernel writes no more of the address than
 * the length it is given). The new descriptor stays shut in the gate until
 * the recorder's next look at the fd table. */
#define kSockaddrMax 128U
static int buffered_accept(long nr, long a[6], long* ret) {
  const uint32_t* len = (const uint32_t*)a[2];
  if (a[1] && (!len || *len > kSockaddrMax)) return 0;
  struct in_out_region regions[2] = {{1, a[1] ? *len : 0}, {2, 4}};
  int n = a[1] ? 2 : 0;
  void* out[2] = {(void*)a[1], (void*)a[2]};
  uint32_t total = a[1] ? *len + 4 : 0;
  if (n && regions[0].len == 0) return 0; /* an empty region cannot be read */
  struct call_shape shape = {-1, total, 0, kReadFd, 1, 0, 0, 0, 0, 0, regions, n};
  ask_for_desched();
  if (!try_buffered(nr, a, n ? out : 0, shape, ret)) return 0;
  if (*ret >= 0) set_gate_bits(*ret, 0);
  return 1;
}

/* madvise with advice that changes nothing replay could see (contents,
 * mappings, how later faults and forks behave, the mapping's flags, which
 * split or merge its entry in /proc/PID/maps): replay, which does not make
 * a buffered call, must not need it. MADV_WILLNEED (read-ahead), MADV_COLD
 * and MADV_PAGEOUT (reclaim, contents kept). MADV_DONTNEED, which drops the
 * pages (zeroes private anonymous memory, resets private file pages) and
 * which glibc makes at every thread's end and malloc trim, must happen in
 * replay too, and stays traced, as do MADV_FREE (lazy and nondeterministic),
 * the fork advice (DONTFORK, WIPEONFORK) and the flag advice (RANDOM,
 * SEQUENTIAL, HUGEPAGE, MERGEABLE, DONTDUMP...). rr_buffer_madvise_ok
 * says which. */
static int buffered_madvise(long a[6], long* ret) {
  if (!rr_buffer_madvise_ok(a[2])) return 0;
  /* The record keeps the arguments: the recorder checks the advice. */
  struct call_shape shape = {-1, 0, 0, kNoFd, 1, 0};
  return try_buffered(SYS_madvise, a, 0, shape, ret);
}

/* The bytes a write, pwrite64 or writev hands to its descriptor (for
 * RR_BLOCKING_WRITE_MAX; more than that when unknown). */
static uint32_t written_len(const struct hook_call* c) {
  if (c->nr != SYS_writev) return (uint64_t)c->a[2] > 0xffffffffUL ? 0xffffffffU : (uint32_t)c->a[2];
  const struct iovec_* iov = (const struct iovec_*)c->a[1];
  uint64_t total = 0;
  if (!iov || c->a[2] < 0 || c->a[2] > RR_MAX_IOV) return 0xffffffffU;
  for (long i = 0; i < c->a[2]; ++i) total += iov[i].len;
  return total > 0xffffffffUL ? 0xffffffffU : (uint32_t)total;
}

/* The calls the hook takes that are not in kRawShapes. */
static const int16_t kHookCalls[] = {SYS_futex,    SYS_readv,  SYS_preadv, SYS_poll,  SYS_epoll_wait, SYS_epoll_pwait,
                                     SYS_ppoll,    SYS_select, SYS_pselect6, SYS_recvfrom, SYS_sendto, SYS_openat,
                                     SYS_close,    SYS_fcntl,  SYS_sendmsg, SYS_recvmsg, SYS_connect, SYS_accept,
                                     SYS_accept4,  SYS_madvise, SYS_rt_sigaction, SYS_ioctl};

int rr_hook_may_take(long nr) {
  for (uint32_t i = 0; i < sizeof kHookCalls / sizeof kHookCalls[0]; ++i)
    if (kHookCalls[i] == nr) return 1;
  for (uint32_t i = 0; i < sizeof kRawShapes / sizeof kRawShapes[0]; ++i)
    if (kRawShapes[i].nr == nr) return 1;
  return 0;
}

long rr_hook_impl(struct hook_call* c) {
  c->handled = 0;
  if (c->nr == SYS_futex) {
    long a[6] = {c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]};
    long ret = 0;
    c->handled = buffered_futex(a, &ret);
    return ret;
  }
  if (c->nr == SYS_readv || c->nr == SYS_preadv) {
    long a[6] = {c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]};
    long ret = 0;
    ask_for_desched();
    c->handled = try_buffered_readv(c->nr, a, &ret);
    return ret;
  }
  if (c->nr == SYS_poll || c->nr == SYS_epoll_wait || c->nr == SYS_recvfrom || c->nr == SYS_sendto || c->nr == SYS_ppoll ||
      c->nr == SYS_epoll_pwait || c->nr == SYS_select || c->nr == SYS_pselect6) {
    long a[6] = {c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]};
    long ret = 0;
    if (c->nr == SYS_poll) c->handled = buffered_poll(a, &ret);
    else if (c->nr == SYS_epoll_wait || c->nr == SYS_epoll_pwait) c->handled = buffered_epoll_wait(c->nr, a, &ret);
    else if (c->nr == SYS_ppoll) c->handled = buffered_ppoll(a, &ret);
    else if (c->nr == SYS_select || c->nr == SYS_pselect6) c->handled = buffered_select(c->nr, a, &ret);
    else if (c->nr == SYS_recvfrom) c->handled = buffered_recvfrom(a, &ret);
    else c->handled = buffered_sendto(a, &ret);
    return ret;
  }
  if (c->nr == SYS_sendmsg || c->nr == SYS_recvmsg || c->nr == SYS_connect || c->nr == SYS_accept ||
      c->nr == SYS_accept4 || c->nr == SYS_madvise) {
    long a[6] = {c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]};
    long ret = 0;
    if (c->nr == SYS_sendmsg) c->handled = buffered_sendmsg(a, &ret);
    else if (c->nr == SYS_recvmsg) c->handled = buffered_recvmsg(a, &ret);
    else if (c->nr == SYS_connect) c->handled = buffered_connect(a, &ret);
    else if (c->nr == SYS_madvise) c->handled = buffered_madvise(a, &ret);
    else c->handled = buffered_accept(c->nr, a, &ret);
    return ret;
  }
  if (c->nr == SYS_rt_sigaction || c->nr == SYS_ioctl) {
    long a[6] = {c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]};
    long ret = 0;
    c->handled = c->nr == SYS_rt_sigaction ? buffered_sigaction_query(a, &ret) : buffered_tcgets(a, &ret);
    return ret;
  }
  if (c->nr == SYS_openat || c->nr == SYS_close || c->nr == SYS_fcntl) {
    long a[6] = {c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]};
    long ret = 0;
    if (c->nr == SYS_openat) c->handled = buffered_openat(a, &ret);
    else if (c->nr == SYS_close) c->handled = buffered_close(a, &ret);
    else c->handled = buffered_fcntl(a, &ret);
    return ret;
  }
  for (uint32_t i = 0; i < sizeof kRawShapes / sizeof kRawShapes[0]; ++i) {
    const struct raw_shape* r = &kRawShapes[i];
    if (r->nr != c->nr) continue;
    if (r->zero_arg >= 0 && c->a[r->zero_arg] != 0) return 0;
    struct call_shape shape = {r->out_arg, r->out_len, 0, r->gate, 0, 0, 0, 0};
    if (r->gate != kNoFd) ask_for_desched();
    if (r->gate == kWriteFd) shape.in_len = written_len(c);
    if (r->len_arg >= 0) {
      uint64_t len = (uint64_t)c->a[r->len_arg];
      if (len == 0 || len > RR_BUFFER_DATA_SIZE) return 0;
      shape.out_len = (uint32_t)len;
      shape.variable = 1;
    }
    long a[6] = {c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]};
    long ret = 0;
    c->handled = try_buffered(c->nr, a, r->out_arg >= 0 ? (void*)c->a[r->out_arg] : 0, shape, &ret);
    return ret;
  }
  return 0;
}

/* The hook keeps every register but rax, rcx and r11 (which the syscall
 * instruction itself leaves changed), runs the C code on an aligned stack
 * below the caller's, and wipes what that code left there, as
 * rr_clean_return does. */
__asm__(".text\n.globl rr_syscall_hook\n.hidden rr_syscall_hook\n.type rr_syscall_hook,@function\n"
        "rr_syscall_hook:\n"
        "  push %rbp\n  mov %rsp, %rbp\n  and $-16, %rsp\n  sub $64, %rsp\n"
        "  mov %rax, 0(%rsp)\n  mov %rdi, 8(%rsp)\n  mov %rsi, 16(%rsp)\n  mov %rdx, 24(%rsp)\n"
        "  mov %r10, 32(%rsp)\n  mov %r8, 40(%rsp)\n  mov %r9, 48(%rsp)\n"
        "  mov %rsp, %rdi\n  call rr_hook_impl\n"
        "  mov %rax, %r11\n  lea -" STR(RR_SCRUB_BYTES) "(%rsp), %rdi\n  mov $" STR(RR_SCRUB_BYTES) "/8, %ecx\n"
        "  xor %eax, %eax\n  rep stosq\n  mov %r11, %rax\n"
        "  mov 8(%rsp), %rdi\n  mov 16(%rsp), %rsi\n  mov 24(%rsp), %rdx\n"
        "  mov 32(%rsp), %r10\n  mov 40(%rsp), %r8\n  mov 48(%rsp), %r9\n"
        "  xor %r11d, %r11d\n  cmpq $0, 56(%rsp)\n  jne 1f\n"
        "  mov 0(%rsp), %rax\n  mov $1, %r11d\n"
        "1:\n  xor %ecx, %ecx\n  leave\n  ret\n.size rr_syscall_hook, .-rr_syscall_hook\n");

/* The buffer exists only where rr mapped it (msync fails with ENOMEM on an
 * unmapped page): the check is one traced call per process. */
__attribute__((constructor)) static void start(void) {
  if (traced_syscall(SYS_msync, RR_BUFFER_ADDR, 4096, MS_ASYNC_, 0, 0) != 0) return;
  enabled = header()->magic == RR_BUFFER_MAGIC;
  if (enabled && (*(volatile uint32_t*)RR_OPTIONS_ADDR & RR_OPTION_PATCH_LIBC)) rr_patch_libc();
  ask_for_desched();
}
