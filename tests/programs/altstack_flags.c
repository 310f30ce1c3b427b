/* altstack_flags: the uc_stack a signal handler finds in its frame. A
 * process fresh from execve that never set an alternate signal stack shows
 * ss_flags 0 there (sigaltstack itself answers SS_DISABLE); a thread shows
 * SS_DISABLE; after the program's own sigaltstack(SS_DISABLE) the process
 * does too. Replay once showed SS_DISABLE in the first case (its tracee
 * had dropped the supervisor's stack), and the printed value diverged. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

static volatile int seen = -1;

static void handler(int sig, siginfo_t* info, void* uc) {
  (void)sig;
  (void)info;
  seen = ((ucontext_t*)uc)->uc_stack.ss_flags;
}

static int raise_and_see(void) {
  seen = -1;
  raise(SIGUSR1);
  return seen;
}

static void* thread_main(void* arg) {
  (void)arg;
  printf("thread: uc_stack.ss_flags %d\n", raise_and_see());
  return NULL;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO;
  if (sigaction(SIGUSR1, &sa, NULL) != 0) return 1;
  printf("main, fresh: uc_stack.ss_flags %d\n", raise_and_see());
  pthread_t th;
  if (pthread_create(&th, NULL, thread_main, NULL) != 0 || pthread_join(th, NULL) != 0) return 1;
  stack_t none = {0};
  none.ss_flags = SS_DISABLE;
  if (sigaltstack(&none, NULL) != 0) return 1;
  printf("main, after sigaltstack(SS_DISABLE): uc_stack.ss_flags %d\n", raise_and_see());
  return 0;
}
