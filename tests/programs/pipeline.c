// A shell-style pipeline of three processes: generator | doubler | summer.
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  int p1[2], p2[2], p3[2];
  if (pipe(p1) || pipe(p2) || pipe(p3)) return 1;
  pid_t gen = fork();
  if (gen == 0) {
    dup2(p1[1], 1);
    close(p1[0]); close(p1[1]); close(p2[0]); close(p2[1]); close(p3[0]); close(p3[1]);
    for (int i = 1; i <= 2000; ++i) printf("%d\n", i);
    return 0;
  }
  pid_t dbl = fork();
  if (dbl == 0) {
    dup2(p1[0], 0);
    dup2(p2[1], 1);
    close(p1[0]); close(p1[1]); close(p2[0]); close(p2[1]); close(p3[0]); close(p3[1]);
    int v;
    while (scanf("%d", &v) == 1) printf("%d\n", 2 * v);
    return 0;
  }
  pid_t sum = fork();
  if (sum == 0) {
    dup2(p2[0], 0);
    dup2(p3[1], 1);
    close(p1[0]); close(p1[1]); close(p2[0]); close(p2[1]); close(p3[0]); close(p3[1]);
    long total = 0;
    int v, count = 0;
    while (scanf("%d", &v) == 1) { total += v; ++count; }
    printf("%d numbers, sum %ld\n", count, total);
    return 0;
  }
  close(p1[0]); close(p1[1]); close(p2[0]); close(p2[1]); close(p3[1]);
  char buf[128];
  ssize_t n;
  while ((n = read(p3[0], buf, sizeof buf)) > 0) fwrite(buf, 1, n, stdout);
  int st, ok = 0;
  ok += waitpid(gen, &st, 0) == gen && st == 0;
  ok += waitpid(dbl, &st, 0) == dbl && st == 0;
  ok += waitpid(sum, &st, 0) == sum && st == 0;
  printf("%d stages ended well\n", ok);
  return 0;
}
