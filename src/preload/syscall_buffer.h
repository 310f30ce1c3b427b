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

#define RR_BUFFER_DATA_SIZE (RR_BUFFER_SIZE - 4096UL - sizeof(struct rr_buffer_header))

/* The calls that change the fd table (openat, close, fcntl) keep their first five
 * arguments as the record's output, so that the recorder and replay apply
 * the same change to the tables they keep (FdTable::on_syscall). */
#define RR_RECORD_ARGS_LEN 40U
static inline int rr_buffer_keeps_args(int64_t nr) {
  return nr == 257 /* openat */ || nr == 3 /* close */ || nr == 72 /* fcntl */;
}

static inline uint32_t rr_buffer_record_size(uint32_t out_len) {
  return (uint32_t)((sizeof(struct rr_buffer_record) + out_len + 7) & ~7UL);
}

#endif
