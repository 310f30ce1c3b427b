/* What the two files of librrpreload.so share (docs/syscall-buffer.md). */
#ifndef RR_PRELOAD_PRELOAD_H
#define RR_PRELOAD_PRELOAD_H

#include <stdint.h>

/* Makes syscall `nr` through the library's own syscall instruction, which
 * the recorder traces: an event of its own. */
long rr_traced_syscall(long nr, long a0, long a1, long a2, long a3, long a4);

/* Copies `n` bytes without vector registers and without calling libc. */
void rr_copy_bytes(void* to, const void* from, uint64_t n);

/* Where a patched syscall instruction's stub calls (preload.c): with the
 * syscall's number in rax and its arguments in rdi, rsi, rdx, r10, r8, r9,
 * it makes the call through the buffer and returns its result in rax with
 * r11 zero, or, for a call the buffer does not take, returns with every
 * register as it came and r11 nonzero, and the stub makes the syscall
 * itself. rcx is zero on return; every other register is kept. */
extern char rr_syscall_hook[];

/* Whether rr_syscall_hook may take syscall `nr` (else it always declines):
 * libc_patch.c rewrites the sites whose number it knows only for these. */
int rr_hook_may_take(long nr);

/* Rewrites the syscall instructions of libc and ld.so that have a known
 * shape into jumps to stubs that call rr_syscall_hook (libc_patch.c). */
void rr_patch_libc(void);

#endif
