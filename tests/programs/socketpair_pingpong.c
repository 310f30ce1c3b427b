// Parent and child pass a counter back and forth over a socketpair.
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
  pid_t p = fork();
  if (p == 0) {
    close(sv[0]);
    int v;
    while (read(sv[1], &v, sizeof v) == sizeof v) {
      v += 1;
      if (write(sv[1], &v, sizeof v) != sizeof v) break;
    }
    _exit(0);
  }
  close(sv[1]);
  int v = 0;
  for (int i = 0; i < 200; ++i) {
    v *= 2;
    if (write(sv[0], &v, sizeof v) != sizeof v || read(sv[0], &v, sizeof v) != sizeof v) return 1;
    v %= 100003;
  }
  close(sv[0]);
  int st;
  waitpid(p, &st, 0);
  printf("final %d, child status %d\n", v, st);
  return 0;
}
