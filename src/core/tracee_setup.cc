#include "core/tracee_setup.h"

#include <sched.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace rr {
int choose_cpu() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 0;
  // Spread concurrent recordings over the allowed CPUs.
  int count = CPU_COUNT(&set);
  if (count == 0) return 0;
  int pick = getpid() % count;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    if (pick-- == 0) return cpu;
  }
  return 0;
}

bool pin_to_cpu(int cpu, pid_t tid) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(tid, sizeof(set), &set) == 0;
}

void prepare_tracee_process(int cpu) {
  personality(ADDR_NO_RANDOMIZE);
  prctl(PR_SET_TSC, PR_TSC_SIGSEGV, 0, 0, 0);
  pin_to_cpu(cpu);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int s = 1; s < NSIG; ++s) signal(s, SIG_DFL);
}

void stop_for_tracer() {
  ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
  syscall(SYS_tkill, syscall(SYS_gettid), SIGSTOP);
}

}  // namespace rr
