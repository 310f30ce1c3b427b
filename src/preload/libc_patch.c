/* Reaching the syscalls libc makes to itself (docs/syscall-buffer.md,
 * "Patching libc"): stdio's reads, opendir's getdents and most of libc's
 * own calls never go through the entry points preload.c replaces. At start,
 * when the recorder asked for it (RR_OPTION_PATCH_LIBC), this rewrites the
 * syscall instructions of libc and ld.so that are followed by the
 * instruction every glibc syscall wrapper checks the result with (a compare
 * of rax with -4096 or -4095) into a jump to a stub of this library, which
 * calls rr_syscall_hook and then does what the two replaced instructions
 * did. The rewriting runs in the library's constructor, in both roads alike
 * (same code, same memory, mprotect executed for real in replay), while
 * the process has one thread and no signal handler, so no thread can be
 * stopped inside the bytes it changes. */
#define _GNU_SOURCE
#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "preload.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* The stubs, one per rewritten instruction, in a section of this library's
 * code that starts as int3s: its pages are made writable only while the
 * constructor fills them. */
#define STUB_AREA_SIZE 0x8000
#define STUB_SIZE 40
__asm__(".section .text.rr_stubs,\"ax\",@progbits\n.balign 4096\n"
        ".globl rr_stub_area\n.hidden rr_stub_area\nrr_stub_area:\n"
        ".fill " STR(STUB_AREA_SIZE) ",1,0xcc\n.balign 4096\n.previous\n");
extern char rr_stub_area[];

/* A syscall instruction and the compare after it, replaced together by a
 * 5-byte jump (then int3s): `len` bytes, matched exactly. Every direct jump
 * of libc lands outside these bytes (checked on Debian 12's glibc, where
 * 443 of its 526 syscall instructions have one of these shapes). */
struct site_shape {
  uint8_t len;
  uint8_t bytes[8];
};
static const struct site_shape kShapes[] = {
    {8, {0x0f, 0x05, 0x48, 0x3d, 0x00, 0xf0, 0xff, 0xff}}, /* syscall; cmp $-4096, %rax */
    {8, {0x0f, 0x05, 0x48, 0x3d, 0x01, 0xf0, 0xff, 0xff}}, /* syscall; cmp $-4095, %rax */
    {7, {0x0f, 0x05, 0x3d, 0x00, 0xf0, 0xff, 0xff}},       /* syscall; cmp $-4096, %eax */
};

/* The objects whose code is rewritten, by file name. */
static const char* const kObjects[] = {"libc.so.6", "ld-linux-x86-64.so.2"};

struct code_range {
  uintptr_t start, end; /* page aligned */
  int prot;
};
#define MAX_RANGES 8
static struct code_range ranges[MAX_RANGES];
static int range_count;

static int same_text(const char* a, const char* b) {
  while (*a && *a == *b) ++a, ++b;
  return *a == *b;
}

static const char* base_name(const char* path) {
  const char* base = path;
  for (const char* p = path; *p; ++p)
    if (*p == '/') base = p + 1;
  return base;
}

static int collect(struct dl_phdr_info* info, size_t size, void* data) {
  (void)size;
  (void)data;
  if (!info->dlpi_name) return 0;
  int wanted = 0;
  for (size_t i = 0; i < sizeof kObjects / sizeof kObjects[0]; ++i) wanted |= same_text(base_name(info->dlpi_name), kObjects[i]);
  if (!wanted) return 0;
  for (int i = 0; i < info->dlpi_phnum && range_count < MAX_RANGES; ++i) {
    const ElfW(Phdr)* ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
    uintptr_t start = (info->dlpi_addr + ph->p_vaddr) & ~4095UL;
    uintptr_t end = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + 4095) & ~4095UL;
    int prot = PROT_EXEC | (ph->p_flags & PF_R ? PROT_READ : 0) | (ph->p_flags & PF_W ? PROT_WRITE : 0);
    ranges[range_count++] = (struct code_range){start, end, prot};
  }
  return 0;
}

static long protect(uintptr_t start, uintptr_t len, int prot) {
  return rr_traced_syscall(SYS_mprotect, (long)start, (long)len, prot, 0, 0);
}

static int fits_rel32(int64_t d) { return d >= INT32_MIN && d <= INT32_MAX; }

static void put_rel32(uint8_t* at, int64_t d) {
  uint32_t v = (uint32_t)(int32_t)d;
  for (int i = 0; i < 4; ++i) at[i] = (uint8_t)(v >> (8 * i));
}

static const struct site_shape* shape_at(const uint8_t* p, const uint8_t* end) {
  for (size_t i = 0; i < sizeof kShapes / sizeof kShapes[0]; ++i) {
    const struct site_shape* s = &kShapes[i];
    if ((size_t)(end - p) < s->len) continue;
    int same = 1;
    for (int k = 0; k < s->len && same; ++k) same = p[k] == s->bytes[k];
    if (same) return s;
  }
  return 0;
}

/* The stub for a site: below the caller's red zone, `before` (the site's
 * own instructions that set rax, for a site that sets its number), call the
 * hook; if it declined, make the syscall here with the registers as they
 * came; then `after` (the site's compare, for a site that checks its
 * result), and back to the instruction after the site's `len` bytes. */
static int write_stub(uint8_t* stub, uintptr_t site, int len, const uint8_t* before, int before_len, const uint8_t* after,
                      int after_len) {
  uint8_t b[STUB_SIZE];
  for (int i = 0; i < STUB_SIZE; ++i) b[i] = 0xcc;
  static const uint8_t head[] = {0x48, 0x8d, 0x64, 0x24, 0x80}; /* lea -0x80(%rsp), %rsp */
  static const uint8_t tail[] = {0x48, 0x8d, 0xa4, 0x24, 0x80, 0x00, 0x00, 0x00, /* lea 0x80(%rsp), %rsp */
                                 0x4d, 0x85, 0xdb,                               /* test %r11, %r11 */
                                 0x74, 0x02,                                     /* je 1f */
                                 0x0f, 0x05};                                    /* syscall; 1: */
  if ((int)(sizeof head + sizeof tail) + before_len + after_len + 10 > STUB_SIZE) return 0;
  int n = 0;
  for (size_t i = 0; i < sizeof head; ++i) b[n++] = head[i];
  for (int i = 0; i < before_len; ++i) b[n++] = before[i];
  int64_t to_hook = (int64_t)((uintptr_t)rr_syscall_hook - ((uintptr_t)stub + n + 5));
  b[n] = 0xe8; /* call rr_syscall_hook */
  put_rel32(b + n + 1, to_hook);
  n += 5;
  for (size_t i = 0; i < sizeof tail; ++i) b[n++] = tail[i];
  for (int i = 0; i < after_len; ++i) b[n++] = after[i];
  int64_t back = (int64_t)(site + len - ((uintptr_t)stub + n + 5));
  b[n] = 0xe9; /* jmp back */
  put_rel32(b + n + 1, back);
  n += 5;
  if (!fits_rel32(to_hook) || !fits_rel32(back)) return 0;
  rr_copy_bytes(stub, b, STUB_SIZE);
  return 1;
}

/* A syscall instruction whose number is set by the instruction just before
 * it, `mov $nr, %eax` (5 bytes), and whose result is not compared (glibc's
 * futex wakes and the waits of its condition variables, gettid, the calls
 * in ld.so): the two are replaced together, for the calls the hook may
 * take (rr_hook_may_take) only. No direct jump of Debian 12's libc or ld.so
 * lands on such a syscall instruction (63 and 11 sites, checked with
 * objdump). */
static int mov_site_number(const uint8_t* p, const uint8_t* end, long* nr) {
  if (end - p < 7 || p[0] != 0xb8 || p[5] != 0x0f || p[6] != 0x05) return 0;
  if (shape_at(p + 5, end)) return 0; /* the compare's shape takes it */
  *nr = (long)((uint32_t)p[1] | (uint32_t)p[2] << 8 | (uint32_t)p[3] << 16 | (uint32_t)p[4] << 24);
  return rr_hook_may_take(*nr);
}

/* Eight bytes of code read at once (the code is page aligned), whatever
 * type the compiler thinks they have. */
typedef uint64_t __attribute__((may_alias)) code_word;

/* Rewrites the sites of [r->start, r->end) with stubs from *next on;
 * returns where the stubs end. Every site holds a syscall instruction
 * (0f 05): at its start (the compare shapes) or 5 bytes in (mov_site), so
 * the scan looks for the byte 05 eight bytes at a time and checks the sites
 * around each one, in address order, a site never overlapping the one
 * rewritten before it. These are the sites trying every byte in turn finds
 * (libc's 1.4 MB of code took some 3 ms that way, at every start of every
 * process): the sites found by their syscalls come in the order of their
 * starts, since a mov site starts 5 bytes before its syscall and the four
 * bytes after a compare site's first hold no 0f, so no later syscall's mov
 * site starts before a compare site. */
static uint8_t* patch_range(const struct code_range* r, uint8_t* next, uint8_t* stubs_end) {
  uint8_t* start = (uint8_t*)r->start;
  const uint8_t* end = (const uint8_t*)r->end;
  uint8_t* free_from = start; /* the first byte no rewritten site covers */
  const uint64_t ones = 0x0101010101010101ull, fives = 0x0505050505050505ull, highs = 0x8080808080808080ull;
  for (uint8_t* w = start; w < end && next + STUB_SIZE <= stubs_end; w += 8) {
    uint64_t x = *(const code_word*)w ^ fives;
    if (!((x - ones) & ~x & highs)) continue; /* no byte 05 in these eight */
    for (int k = 0; k < 8 && next + STUB_SIZE <= stubs_end; ++k) {
      /* The syscall instruction whose second byte this is, at q (offsets
       * from the range's start: no pointer before it is formed). */
      uintptr_t q_at = (uintptr_t)(w - start) + (uintptr_t)k;
      if (w[k] != 0x05 || q_at == 0) continue;
      uint8_t* q = start + (q_at - 1);
      if (q[0] != 0x0f) continue;
      const struct site_shape* s = shape_at(q, end);
      long nr;
      uint8_t* p;
      int len;
      int ok;
      if (s) {
        if (q < free_from) continue;
        p = q;
        len = s->len;
        ok = write_stub(next, (uintptr_t)p, len, 0, 0, s->bytes + 2, len - 2);
      } else if (q_at - 1 >= 5 && start + (q_at - 1 - 5) >= free_from && mov_site_number(q - 5, end, &nr)) {
        p = q - 5;
        len = 7;
        ok = write_stub(next, (uintptr_t)p, len, p, 5, 0, 0);
      } else {
        continue;
      }
      int64_t to_stub = (int64_t)((uintptr_t)next - ((uintptr_t)p + 5));
      if (!ok || !fits_rel32(to_stub)) continue;
      uint8_t jump[8] = {0xe9, 0, 0, 0, 0, 0xcc, 0xcc, 0xcc};
      put_rel32(jump + 1, to_stub);
      rr_copy_bytes(p, jump, (uint64_t)len);
      next += STUB_SIZE;
      free_from = p + len;
    }
  }
  return next;
}

void rr_patch_libc(void) {
  dl_iterate_phdr(collect, 0);
  if (range_count == 0) return;
  uintptr_t stubs = (uintptr_t)rr_stub_area;
  const int rwx = PROT_READ | PROT_WRITE | PROT_EXEC;
  if (protect(stubs, STUB_AREA_SIZE, rwx) != 0) return;
  uint8_t* next = (uint8_t*)stubs;
  for (int i = 0; i < range_count; ++i) {
    const struct code_range* r = &ranges[i];
    if (protect(r->start, r->end - r->start, rwx) != 0) continue;
    next = patch_range(r, next, (uint8_t*)stubs + STUB_AREA_SIZE);
    protect(r->start, r->end - r->start, r->prot);
  }
  protect(stubs, STUB_AREA_SIZE, PROT_READ | PROT_EXEC);
}
