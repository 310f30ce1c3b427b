/* rdrand_rdseed: rdrand and rdseed of every operand width, into low and
 * high registers, return values the program prints (a recording's replay
 * must print the same ones); SIGILL blocked around one of them stays
 * blocked, a SIGILL handler the program set stays set, and a ud2 of the
 * program's own still raises its SIGILL. Natively the values differ from
 * run to run (nondet). On a CPU without rdrand or rdseed it says so. */
#define _GNU_SOURCE
#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static sigjmp_buf back;
static volatile sig_atomic_t ills;

static void on_ill(int sig) {
  (void)sig;
  ills++;
  siglongjmp(back, 1);
}

/* Retries as Intel's guide says: the carry flag clear means no value yet. */
#define TRY_RANDOM(insn, type, reg_constraint, out)                                                            \
  do {                                                                                                          \
    unsigned char ok_ = 0;                                                                                      \
    for (int i_ = 0; i_ < 100 && !ok_; i_++) asm volatile(insn " %0; setc %1" : reg_constraint(out), "=qm"(ok_)); \
    if (!ok_) printf(#insn " never succeeded\n");                                                              \
  } while (0)

int main(void) {
  unsigned a, b, c, d;
  int have_rdrand = __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 30));
  int have_rdseed = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 18));
  if (!have_rdrand || !have_rdseed) {
    printf("this CPU has no rdrand or rdseed\n");
    return 0;
  }
  uint64_t r64 = 0, s64 = 0;
  uint32_t r32 = 0, s32 = 0;
  uint16_t r16 = 0, s16 = 0;
  TRY_RANDOM("rdrand", uint64_t, "=r", r64);
  TRY_RANDOM("rdrand", uint32_t, "=r", r32);
  TRY_RANDOM("rdrand", uint16_t, "=r", r16);
  TRY_RANDOM("rdseed", uint64_t, "=r", s64);
  TRY_RANDOM("rdseed", uint32_t, "=r", s32);
  TRY_RANDOM("rdseed", uint16_t, "=r", s16);
  printf("rdrand %016llx %08x %04x\n", (unsigned long long)r64, r32, r16);
  printf("rdseed %016llx %08x %04x\n", (unsigned long long)s64, s32, s16);

  /* A high register (REX.B), and a 16-bit write that keeps the rest. */
  uint64_t high = 0, kept = 0x1122334455660000ull;
  unsigned char ok = 0;
  asm volatile("mov %2, %%r13\n\t"
               "1: rdrand %%r13w\n\t"
               "jnc 1b\n\t"
               "mov %%r13, %0\n\t"
               "rdrand %%r12\n\t"
               "setc %1\n\t"
               "mov %%r12, %%r13"
               : "=r"(high), "=qm"(ok)
               : "r"(kept)
               : "r12", "r13", "cc");
  printf("r13w kept its upper bits: %s\n", (high >> 16) == (kept >> 16) ? "yes" : "no");

  /* SIGILL blocked around an rdrand stays blocked; the handler stays. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_ill;
  sigaction(SIGILL, &sa, NULL);
  sigset_t ill, now;
  sigemptyset(&ill);
  sigaddset(&ill, SIGILL);
  sigprocmask(SIG_BLOCK, &ill, NULL);
  TRY_RANDOM("rdrand", uint64_t, "=r", r64);
  sigprocmask(SIG_BLOCK, NULL, &now);
  printf("SIGILL still blocked after rdrand: %s\n", sigismember(&now, SIGILL) ? "yes" : "no");
  printf("blocked rdrand %016llx\n", (unsigned long long)r64);
  sigprocmask(SIG_UNBLOCK, &ill, NULL);
  struct sigaction cur;
  sigaction(SIGILL, NULL, &cur);
  printf("SIGILL handler still set: %s\n", cur.sa_handler == on_ill ? "yes" : "no");

  /* The program's own ud2, followed by bytes that look like the rest of a
   * patched rdrand (a register ModRM with reg 6), is the program's SIGILL. */
  if (sigsetjmp(back, 1) == 0) asm volatile("ud2\n\t.byte 0xf0\n\tnop");
  printf("the program's ud2 raised its SIGILL: %s\n", ills == 1 ? "yes" : "no");

  /* Ignored SIGILL: the trap must not reset it. */
  signal(SIGILL, SIG_IGN);
  TRY_RANDOM("rdseed", uint32_t, "=r", s32);
  sigaction(SIGILL, NULL, &cur);
  printf("SIGILL still ignored after rdseed: %s (%08x)\n", cur.sa_handler == SIG_IGN ? "yes" : "no", s32);
  return 0;
}
