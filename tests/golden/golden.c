// The tracee of the golden checkpoints (tests/golden/README.md): static,
// without libc, so that its trace holds no copy of a library (rr's own
// preload library aside, in later sets) and stays small. It fills private and shared memory with known bytes,
// changes a little of it between syscalls, and passes a checksum of all of
// it as the argument of its last syscalls: a replay continued from a
// restored checkpoint whose memory differs stops there with a divergence.
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

static long sys6(long n, long a, long b, long c, long d, long e, long f) {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

enum { kPage = 4096, kPrivatePages = 16, kSharedPages = 2 };

static void say(const char* s) {
  size_t n = 0;
  while (s[n]) n++;
  sys6(SYS_write, 1, (long)s, (long)n, 0, 0, 0);
}

static uint64_t checksum(const uint8_t* p, size_t n, uint64_t h) {
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

static void hex(uint64_t v) {
  char out[20];
  out[0] = 's', out[1] = '=';
  for (int i = 0; i < 16; i++) out[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 15];
  out[18] = '\n', out[19] = 0;
  say(out);
}

void _start(void) {
  uint8_t* priv = (uint8_t*)sys6(SYS_mmap, 0, kPrivatePages * kPage, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  for (size_t i = 0; i < kPrivatePages * kPage; i++) priv[i] = (uint8_t)(i * 7 + 3);
  say("golden: private memory filled\n");
  // A few events that each change one page: incremental checkpoints
  // between them store one page.
  for (int k = 0; k < 12; k++) {
    priv[(k % kPrivatePages) * kPage + k] ^= 0x5a;
    sys6(SYS_getppid, k, 0, 0, 0, 0, 0);
  }
  uint8_t* shared = (uint8_t*)sys6(SYS_mmap, 0, kSharedPages * kPage, PROT_READ | PROT_WRITE,
                                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  for (size_t i = 0; i < kSharedPages * kPage; i++) shared[i] = (uint8_t)(i * 13 + 1);
  say("golden: shared memory filled\n");
  for (int k = 0; k < 12; k++) {
    shared[(k % kSharedPages) * kPage + k] ^= 0xa5;
    sys6(SYS_getppid, k, 0, 0, 0, 0, 0);
  }
  // Memory protection keys (format 7): one page tagged with a key that
  // allows everything, one with a key whose writes the thread's PKRU
  // forbids; a few events change other pages after them. Where the kernel
  // has no keys the program says so and goes on, and its set is no 7.x set
  // (regenerate.sh refuses it).
  long open_key = sys6(SYS_pkey_alloc, 0, 0, 0, 0, 0, 0);
  long read_only_key = sys6(SYS_pkey_alloc, 0, 2 /* PKEY_DISABLE_WRITE */, 0, 0, 0, 0);
  if (open_key > 0 && read_only_key > 0) {
    sys6(SYS_pkey_mprotect, (long)(priv + 3 * kPage), kPage, PROT_READ | PROT_WRITE, open_key, 0, 0);
    sys6(SYS_pkey_mprotect, (long)(priv + 5 * kPage), kPage, PROT_READ | PROT_WRITE, read_only_key, 0, 0);
    priv[3 * kPage + 99] ^= 0x3c;
    say("golden: protection keys taken\n");
  } else {
    say("golden: no protection keys\n");
  }
  for (int k = 0; k < 6; k++) {
    priv[((k * 3 + 1) % kPrivatePages) * kPage + 64 + k] ^= 0x77;  // never page 5
    sys6(SYS_getppid, k, 0, 0, 0, 0, 0);
  }
  uint64_t h = checksum(priv, kPrivatePages * kPage, 0xcbf29ce484222325ull);
  h = checksum(shared, kSharedPages * kPage, h);
  // The checksum is in rdi at this syscall's entry, which replay compares.
  sys6(SYS_getppid, (long)h, 0, 0, 0, 0, 0);
  hex(h);
  sys6(SYS_exit_group, 0, 0, 0, 0, 0, 0);
  __builtin_unreachable();
}
