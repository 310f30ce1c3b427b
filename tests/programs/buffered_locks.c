/* buffered_locks: what sqlite3 does around a transaction, which the syscall
 * buffer takes without a ptrace stop (docs/syscall-buffer.md, "Record
 * locks and syncs"): fcntl record locks set and tested without
 * waiting (F_SETLK, F_GETLK, F_OFD_SETLK, F_OFD_GETLK), fdatasync and fsync
 * of the file, fchown of it to its owner and the ids around it (buffered
 * too since "Calls that only ask, and names"). A child
 * process tests the parent's locks and fails to take one, so the tests see
 * a conflict (the struct flock the kernel writes back) and a refusal
 * (EAGAIN). Prints only what does not change between runs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static struct flock range(short type, off_t start, off_t len) {
  struct flock l;
  memset(&l, 0, sizeof l);
  l.l_type = type;
  l.l_whence = SEEK_SET;
  l.l_start = start;
  l.l_len = len;
  return l;
}

static const char* type_name(short t) { return t == F_RDLCK ? "read" : t == F_WRLCK ? "write" : t == F_UNLCK ? "unlocked" : "?"; }

/* The child: what another process sees of the parent's locks. */
static int child_tests(int fd, pid_t parent) {
  struct flock l = range(F_WRLCK, 0, 10);
  int got = fcntl(fd, F_SETLK, &l);
  int refused = got < 0 && (errno == EAGAIN || errno == EACCES);
  struct flock t = range(F_WRLCK, 0, 10);
  int tested = fcntl(fd, F_GETLK, &t);
  struct flock o = range(F_WRLCK, 20, 10);
  int ofd_tested = fcntl(fd, F_OFD_GETLK, &o);
  struct flock free_range = range(F_WRLCK, 100, 10);
  int elsewhere = fcntl(fd, F_SETLK, &free_range);
  printf("child: set %d refused %d; test %d %s by parent %d at %ld+%ld; ofd test %d %s pid %d at %ld+%ld; elsewhere %d\n",
         got, refused, tested, type_name(t.l_type), t.l_pid == parent, (long)t.l_start, (long)t.l_len, ofd_tested,
         type_name(o.l_type), o.l_pid, (long)o.l_start, (long)o.l_len, elsewhere);
  fflush(stdout);
  return 0;
}

int main(void) {
  char path[] = "/tmp/buffered_locks.XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return 1;
  if (write(fd, "a file to lock, forty bytes long........\n", 41) != 41) return 1;
  unlink(path);

  /* One stretch from here: the write to stdout is the event before it. */
  printf("file: %d\n", fd >= 0);
  fflush(stdout);
  struct flock w = range(F_WRLCK, 0, 10);
  int set = fcntl(fd, F_SETLK, &w);
  struct flock own = range(F_WRLCK, 0, 10);
  int own_test = fcntl(fd, F_GETLK, &own); /* a process's own locks never conflict */
  struct flock r = range(F_RDLCK, 20, 10);
  int ofd_set = fcntl(fd, F_OFD_SETLK, &r);
  struct flock ofd_own = range(F_WRLCK, 20, 10);
  int ofd_test = fcntl(fd, F_OFD_GETLK, &ofd_own); /* nor an open file description's */
  int datasync = fdatasync(fd);
  int sync = fsync(fd);
  uid_t euid = geteuid();
  gid_t egid = getegid();
  int owner = fchown(fd, euid, egid);
  uid_t uid = getuid();
  gid_t gid = getgid();
  int ids = uid == euid && gid == egid;
  printf("parent: set %d; own test %d %s; ofd set %d; ofd own test %d %s; syncs %d %d; fchown %d; ids %d\n", set, own_test,
         type_name(own.l_type), ofd_set, ofd_test, type_name(ofd_own.l_type), datasync, sync, owner, ids);
  fflush(stdout);

  pid_t parent = getpid();
  pid_t child = fork();
  if (child == 0) _exit(child_tests(fd, parent));
  int status;
  waitpid(child, &status, 0);
  printf("child exit: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

  /* Unlocked, another process may take the range. */
  struct flock u = range(F_UNLCK, 0, 10);
  int unlocked = fcntl(fd, F_SETLK, &u);
  struct flock after = range(F_WRLCK, 0, 10);
  int after_test = fcntl(fd, F_GETLK, &after);
  printf("unlock %d; then %d %s\n", unlocked, after_test, type_name(after.l_type));
  /* A bad pointer: the kernel's EFAULT, taken the traced way (no record
   * can hold what a bad pointer points to). */
  errno = 0;
  int bad = fcntl(fd, F_SETLK, (struct flock*)0);
  printf("null flock %d errno %s\n", bad, errno == EFAULT ? "EFAULT" : strerror(errno));
  close(fd);
  return 0;
}
