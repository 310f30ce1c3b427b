/* namespaces: a process in new UTS, mount and user namespaces, a thread that
   unshares its fd table, setns back, and System V message queues and
   semaphores. Prints what it saw; needs root (rr's tests run as root). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static int extra_fd;

static void* unshare_files(void* arg)
{
    (void)arg;
    if (unshare(CLONE_FILES) != 0) return (void*)0L;
    /* Closed in this thread's own table only. */
    return (void*)(long)(close(extra_fd) == 0);
}

static void in_new_namespaces(void)
{
    int uts = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
    if (unshare(CLONE_NEWUTS | CLONE_NEWNS) != 0) {
        perror("unshare");
        exit(1);
    }
    sethostname("rr-ns-test", 10);
    struct utsname u;
    uname(&u);
    printf("hostname in the new namespace: %s\n", u.nodename);
    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
    char dir[] = "/tmp/rr-ns-XXXXXX";
    if (!mkdtemp(dir)) exit(1);
    int m = mount("proc", dir, "proc", 0, NULL);
    char path[64];
    snprintf(path, sizeof path, "%s/self/status", dir);
    printf("proc mounted: %d, readable: %d\n", m, access(path, R_OK));
    printf("unmounted: %d\n", umount2(dir, 0));
    rmdir(dir);
    printf("setns back: %d\n", setns(uts, CLONE_NEWUTS));
    uname(&u);
    printf("hostname back: %s\n", strcmp(u.nodename, "rr-ns-test") ? "the original" : "FAIL");
}

static void sysv_ipc(void)
{
    int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    struct {
        long type;
        char text[32];
    } msg = {5, "through the queue"};
    msgsnd(q, &msg, strlen(msg.text) + 1, 0);
    struct msqid_ds ds;
    msgctl(q, IPC_STAT, &ds);
    printf("messages queued: %lu\n", (unsigned long)ds.msg_qnum);
    memset(&msg, 0, sizeof msg);
    ssize_t n = msgrcv(q, &msg, sizeof msg.text, 0, 0);
    printf("received %zd bytes of type %ld: %s\n", n, msg.type, msg.text);
    msgctl(q, IPC_RMID, NULL);

    int s = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    semctl(s, 1, SETVAL, 3);
    struct sembuf op = {1, -2, 0};
    semop(s, &op, 1);
    printf("semaphore 1 is now %d\n", semctl(s, 1, GETVAL));
    struct semid_ds sds;
    semctl(s, 0, IPC_STAT, &sds);
    printf("the set has %lu semaphores\n", (unsigned long)sds.sem_nsems);
    semctl(s, 0, IPC_RMID);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    extra_fd = open("/dev/null", O_RDONLY);
    pthread_t th;
    void* closed;
    pthread_create(&th, NULL, unshare_files, NULL);
    pthread_join(th, &closed);
    printf("thread closed its copy: %ld; main's fd still open: %d\n", (long)closed, fcntl(extra_fd, F_GETFD) >= 0);

    pid_t c = fork();
    if (c == 0) {
        in_new_namespaces();
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    printf("namespace child exit %d\n", WEXITSTATUS(st));

    c = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (c == 0) {
        printf("in a new user namespace, uid %d\n", (int)getuid());
        _exit(3);
    }
    waitpid(c, &st, 0);
    printf("user namespace child exit %d\n", WEXITSTATUS(st));
    sysv_ipc();
    return 0;
}
