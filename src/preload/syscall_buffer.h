/* The syscall buffer's layout, shared by the preloaded library
 * (preload.c, plain C) and rr (docs/syscall-buffer.md).
 *
 * The buffer is one anonymous mapping at a fixed address in every process
 * of a recording made with --syscall-buffer: a header, then records. A
 * record is what one syscall made without a ptrace stop returned: its
 * number, its result and the bytes the kernel wrote (into the record, never
 * into the program's memory: the library copies them out). The recorder
 * empties the buffer at every event and keeps its records in that event's
 * frame; replay writes them back before running the same library code. */
#ifndef RR_PRELOAD_SYSCALL_BUFFER_H
#define RR_PRELOAD_SYSCALL_BUFFER_H

#include <stdint.h>

#define RR_BUFFER_ADDR 0x70020000UL
/* 1 MiB: reads of up to a few hundred KiB fit without a ptrace stop. */
#define RR_BUFFER_SIZE 0x100000UL
#define RR_BUFFER_MAGIC 0x42666652U /* "RRfB" */

/* In the rr page (core/rr_page.h): the one syscall instruction the
 * recorder's seccomp filter lets through (`syscall; ret` while recording,
 * `nop; ret` in replay), and the byte that says which road a tracee is on. */
#define RR_BUFFERED_ENTRY 0x70000010UL
#define RR_BUFFERED_ENTRY_AFTER_SYSCALL (RR_BUFFERED_ENTRY + 2)
#define RR_ROAD_FLAG_ADDR 0x70000020UL
#define RR_ROAD_RECORD 0
#define RR_ROAD_REPLAY 1

struct rr_buffer_header {
  uint32_t magic;     /* RR_BUFFER_MAGIC once the supervisor set the buffer up */
  uint32_t locked;    /* nonzero: every call goes the traced way */
  uint32_t used;      /* bytes of records after the header */
  uint32_t available; /* bytes the records may fill: the capacity while
                         recording, the recorded length in replay */
};

struct rr_buffer_record {
  int64_t number;   /* the syscall number */
  int64_t result;   /* what the kernel returned (a negative errno on failure) */
  uint32_t size;    /* bytes of this record, header included, a multiple of 8 */
  uint32_t out_len; /* bytes of kernel output after this header */
};

/* The last page of the buffer's mapping: which descriptors the library may
 * read or write without a ptrace stop (bit fd of `read` / `write`), as the
 * recorder sees them (record/record_buffer.cc). Regular files only (and
 * directories, for getdents64's reading), not under /proc or /sys, never the original stdout or stderr (their writes are
 * echoed in replay) nor a file the program maps (its changes are recorded);
 * everything else, and any fd at or above RR_FD_LIMIT, stays traced. The
 * recorder rewrites the page before the task runs user code whenever its fd
 * table or the set of mapped files changed since `stamp`. Read only while
 * recording: replay takes a call as buffered exactly when its records say so. */
#define RR_FD_LIMIT 1024
struct rr_fd_gate {
  uint64_t stamp[2]; /* the fd table version and mapped-file epoch it shows */
  uint8_t read[RR_FD_LIMIT / 8];
  uint8_t write[RR_FD_LIMIT / 8];
  uint8_t block[RR_FD_LIMIT / 8]; /* a pipe or a socket: a call on it may block,
                                     and is made with the thread's desched
                                     event armed (struct rr_desched) */
};
#define RR_FD_GATE_ADDR (RR_BUFFER_ADDR + RR_BUFFER_SIZE - 4096UL)

/* In the gate page's second half, outside the gate the recorder rewrites:
 * what the recorder asked of the library when it mapped the buffer. Part of
 * the image, so replay's library reads the same. RR_OPTION_PATCH_LIBC: at
 * start, rewrite the syscall instructions of libc and ld.so that have a
 * known shape into jumps to the library (libc_patch.c), so that the calls
 * libc makes to itself (stdio's reads) reach the buffer too. */
#define RR_OPTIONS_ADDR (RR_FD_GATE_ADDR + 2048UL)
#define RR_OPTION_PATCH_LIBC 1U

/* Blocking calls (docs/syscall-buffer.md, "Blocking calls"). Each thread
 * has a software context-switch perf event (PERF_COUNT_SW_CONTEXT_SWITCHES,
 * sample period 1) whose signal, RR_DESCHED_SIGNAL, goes to the thread
 * itself: the library enables it just before a call that may block and
 * disables it after. A thread that blocks is switched out, the signal
 * interrupts the call and stops the thread under ptrace, and the recorder
 * makes the call return RR_RESULT_BLOCKED without running it: the library
 * then makes it the traced way, as an ordinary event that may block while
 * other threads run. The library asks for the thread's event once per
 * thread, on both roads (a traced call is an event): a getppid whose first
 * argument is RR_DESCHED_REQUEST and second the address of the thread's
 * struct rr_desched. The recorder opens the event inside the thread at that
 * call's exit and makes the call return its descriptor (-1: none), which
 * replay returns too: the struct, in the program's thread-local memory,
 * holds the same bytes on both roads (a string function's vector load that
 * reads past a neighbour into it sees no difference). */
#define RR_DESCHED_SIGNAL 30 /* SIGPWR, as rr's */
#define RR_DESCHED_REQUEST 0x72726473UL
#define RR_RESULT_BLOCKED (-4096L) /* no errno, no result of a call that may block */
/* Writes that may block are buffered up to a pipe's atomic size: such a
 * write either writes everything or waits having written nothing, so an
 * interrupted one has no partial result to lose. */
#define RR_BLOCKING_WRITE_MAX 4096U
struct rr_desched {
  int32_t fd;    /* the event's descriptor, the request's result (-1: none:
                    calls that may block go the traced way) */
  int32_t armed; /* 1 between enabling the event and disabling it (the recorder
                    reads it at the event's signal) */
  int32_t asked; /* the request was made */
  int32_t unused;
};

#define RR_BUFFER_DATA_SIZE (RR_BUFFER_SIZE - 4096UL - sizeof(struct rr_buffer_header))

/* The calls that change the fd table (openat, close, fcntl, accept,
 * accept4) keep their first five arguments at the start of the record's
 * output (accept's address follows them), so that the recorder and replay
 * apply the same change to the tables they keep (FdTable::on_syscall). */
#define RR_RECORD_ARGS_LEN 40U
static inline int rr_buffer_keeps_args(int64_t nr) {
  return nr == 257 /* openat */ || nr == 3 /* close */ || nr == 72 /* fcntl */ || nr == 43 /* accept */ ||
         nr == 288 /* accept4 */ || nr == 28 /* madvise: the recorder checks its advice */ ||
         nr == 13 /* rt_sigaction: the recorder checks that it sets no action */;
}

/* A buffered rt_sigaction only asks (no new action, argument 1 null):
 * replay, which executes the calls that set an action, has nothing to do. */
static inline int rr_buffer_sigaction_query(const uint64_t args[5]) { return args[1] == 0; }

/* The madvise advice a buffered call may give: what changes nothing replay,
 * which does not make the call, could see (memory contents, mappings and
 * their flags, later faults and forks). MADV_WILLNEED (read-ahead),
 * MADV_COLD and MADV_PAGEOUT (reclaim; contents kept). */
static inline int rr_buffer_madvise_ok(int64_t advice) {
  return advice == 3 /* MADV_WILLNEED */ || advice == 20 /* MADV_COLD */ || advice == 21 /* MADV_PAGEOUT */;
}

static inline uint32_t rr_buffer_record_size(uint32_t out_len) {
  return (uint32_t)((sizeof(struct rr_buffer_record) + out_len + 7) & ~7UL);
}

#endif
