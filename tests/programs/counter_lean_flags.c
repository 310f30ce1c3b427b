/* counter_lean_flags: events right after a counted branch whose target
 * writes the status flags before it reads any, where the progress counter
 * puts a lean stub (one that may change the flags): a loop whose top is an
 * rdrand (a trap the recorder emulates and replay compares the registers
 * at), and a loop whose top is a division that faults (its SIGFPE handler
 * is handed the registers). The flags the program has at both must be the
 * same in the recording and its replay, whatever the counter's count was.
 * Prints the sum of the random values (nondet natively) and the flags the
 * handler saw. */
#define _GNU_SOURCE
#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

/* n rdrands, each at the top of the loop its backward jnz closes (no
 * retry: a failed rdrand adds what it left in the register). */
__attribute__((noinline)) static uint64_t draws(uint64_t n) {
  uint64_t sum = 0, v;
  asm volatile(
      "1: rdrand %[v]\n\t"
      "add %[v], %[sum]\n\t"
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      : [sum] "+r"(sum), [v] "=&r"(v), [n] "+r"(n)
      :
      : "cc");
  return sum;
}

static sigjmp_buf back;
static volatile uint64_t seen_flags;

static void on_fpe(int sig, siginfo_t* si, void* uc) {
  (void)sig;
  (void)si;
  seen_flags = (uint64_t)((ucontext_t*)uc)->uc_mcontext.gregs[REG_EFL];
  siglongjmp(back, 1);
}

/* Turns of a loop whose top divides by `d`, which becomes 0 after `turns`
 * turns: the division (the first instruction of the loop to write the
 * flags) faults right after the taken jns. */
__attribute__((noinline)) static void divide_until_zero(uint64_t turns) {
  uint64_t d = turns + 1, q;
  asm volatile(
      "1: mov $1000, %%eax\n\t"
      "mov $0, %%edx\n\t"
      "div %[d]\n\t"
      "dec %[d]\n\t"
      "jns 1b\n\t"
      : [d] "+r"(d), "=&a"(q)
      :
      : "rdx", "cc");
  (void)q;
}

int main(void) {
  unsigned a, b, c, dd;
  if (__get_cpuid(1, &a, &b, &c, &dd) && (c & (1u << 30)))
    printf("sum of draws %016llx\n", (unsigned long long)draws(1000));
  else
    printf("this CPU has no rdrand\n");

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fpe;
  sa.sa_flags = SA_SIGINFO;
  if (sigaction(SIGFPE, &sa, NULL) != 0) return 1;
  for (int i = 1; i <= 3; i++) {
    if (sigsetjmp(back, 1) == 0) {
      divide_until_zero((uint64_t)i * 7);
      printf("no SIGFPE\n");
      return 1;
    }
    /* CF PF AF ZF SF OF as the handler saw them */
    printf("SIGFPE %d, flags %03llx\n", i, (unsigned long long)(seen_flags & 0x8d5));
  }
  return 0;
}
