#include "core/tracee_setup.h"

#include "core/tracee_abi.h"

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
  // Every action the default with no flags, mask or restorer, as an
  // execve leaves them (libc's signal() would add SA_RESTART, the signal's
  // own bit and its restorer): a process replay builds without an exec
  // holds the same actions as the recorded one.
  TraceeSigaction default_action = {(uint64_t)SIG_DFL, 0, 0, 0};
  for (int s = 1; s < NSIG; ++s) syscall(SYS_rt_sigaction, s, &default_action, nullptr, 8);
}

void stop_for_tracer() {
  ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
  syscall(SYS_tkill, syscall(SYS_gettid), SIGSTOP);
}

}  // namespace rr
