// Loops that change nothing, built at -O0 where they are a 2-byte `jmp .`
// (and `pause; jmp`) with no padding in reach for the progress counter's
// islands: the recorder parks a thread that reaches one (a spin site,
// docs/progress-counter.md) until a signal or its death. A thread spinning
// in `while (1)` gets three signals from the main thread, whose handler
// runs and returns into the loop; a child process spinning in a pause loop
// is killed by its parent; then SIGALRM ends a spin of the main thread.
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t handled;

static void on_usr1(int sig) {
  (void)sig;
  ++handled;
}

static void on_alarm(int sig) {
  char msg[] = "SIGALRM ended the main thread's spin\n";
  (void)sig;
  write(1, msg, strlen(msg));
  _exit(0);
}

static void* spinner(void* arg) {
  (void)arg;
  while (1) {
    __asm__ volatile("" ::: "memory");
  }
  return NULL;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  if (sigaction(SIGUSR1, &sa, NULL) != 0) return 1;
  pthread_t t;
  if (pthread_create(&t, NULL, spinner, NULL) != 0) return 1;
  for (int i = 1; i <= 3; ++i) {
    pthread_kill(t, SIGUSR1);
    while (handled < i) sched_yield();
  }
  printf("the spinning thread handled %d signals\n", (int)handled);
  fflush(stdout);

  pid_t child = fork();
  if (child == 0) {
    for (;;) __asm__ volatile("pause");
  }
  usleep(10000);
  kill(child, SIGKILL);
  int status;
  if (waitpid(child, &status, 0) != child) return 1;
  printf("the spinning child %s by signal %d\n", WIFSIGNALED(status) ? "was killed" : "ended", WTERMSIG(status));
  fflush(stdout);

  sa.sa_handler = on_alarm;
  if (sigaction(SIGALRM, &sa, NULL) != 0) return 1;
  struct itimerval it = {{0, 0}, {0, 20000}};
  if (setitimer(ITIMER_REAL, &it, NULL) != 0) return 1;
  while (1) {
    __asm__ volatile("" ::: "memory");
  }
}
