/* buffered_blocking: calls that may block, made through the syscall buffer
 * (docs/syscall-buffer.md, "Blocking calls"): two threads ping-ponging over
 * two pipes and over a futex (each wait blocks, each write and wake does
 * not), a producer whose reader mostly finds data waiting, a forked child
 * ping-ponging with its parent, and a read that blocks while the thread
 * blocks the desched signal (SIGPWR) until a timer's SIGALRM, whose handler
 * writes what the read returns; then a socket pair between two threads,
 * one waiting with poll and the other with epoll_wait before each recv
 * and send, and a producer whose consumer polls before each recv. Prints
 * only what does not change between runs. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 300

static int to_b[2], to_a[2];

static void* pipe_partner(void* arg)
{
    (void)arg;
    unsigned char c;
    for (int i = 0; i < ROUNDS; i++) {
        if (read(to_b[0], &c, 1) != 1) return (void*)1;
        c = (unsigned char)(c * 3 + 1);
        if (write(to_a[1], &c, 1) != 1) return (void*)1;
    }
    return NULL;
}

static int pipe_pingpong(void)
{
    if (pipe(to_b) != 0 || pipe(to_a) != 0) return -1;
    pthread_t th;
    pthread_create(&th, NULL, pipe_partner, NULL);
    unsigned char c = 7;
    unsigned sum = 0;
    for (int i = 0; i < ROUNDS; i++) {
        if (write(to_b[1], &c, 1) != 1) return -1;
        if (read(to_a[0], &c, 1) != 1) return -1;
        sum = sum * 31 + c;
    }
    void* r;
    pthread_join(th, &r);
    close(to_b[0]);
    close(to_b[1]);
    close(to_a[0]);
    close(to_a[1]);
    return r ? -1 : (int)(sum & 0x7fffffff);
}

/* The futex word: whose turn it is (0: main's, 1: the partner's). */
static uint32_t turn;

static long futex(uint32_t* word, int op, uint32_t val)
{
    return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

static void wait_for_turn(uint32_t mine)
{
    uint32_t now;
    while ((now = __atomic_load_n(&turn, __ATOMIC_ACQUIRE)) != mine) futex(&turn, FUTEX_WAIT_PRIVATE, now);
}

static void give_turn(uint32_t to)
{
    __atomic_store_n(&turn, to, __ATOMIC_RELEASE);
    futex(&turn, FUTEX_WAKE_PRIVATE, 1);
}

static int counter;

static void* futex_partner(void* arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        wait_for_turn(1);
        counter = counter * 5 + 3;
        give_turn(0);
    }
    return NULL;
}

static int futex_pingpong(void)
{
    pthread_t th;
    pthread_create(&th, NULL, futex_partner, NULL);
    for (int i = 0; i < ROUNDS; i++) {
        wait_for_turn(0);
        counter = counter * 7 + 1;
        give_turn(1);
    }
    wait_for_turn(0);
    pthread_join(th, NULL);
    return counter & 0x7fffffff;
}

static int stream[2];

static void* producer(void* arg)
{
    (void)arg;
    char msg[100];
    for (int i = 0; i < 400; i++) {
        memset(msg, 'a' + i % 26, sizeof msg);
        if (write(stream[1], msg, sizeof msg) != sizeof msg) return (void*)1;
    }
    close(stream[1]);
    return NULL;
}

static int producer_consumer(void)
{
    if (pipe(stream) != 0) return -1;
    pthread_t th;
    pthread_create(&th, NULL, producer, NULL);
    char buf[256];
    unsigned sum = 0;
    long total = 0;
    ssize_t n;
    while ((n = read(stream[0], buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) sum += (unsigned char)buf[i];
        total += n;
    }
    void* r;
    pthread_join(th, &r);
    close(stream[0]);
    return r || total != 40000 ? -1 : (int)sum;
}

static int fork_pingpong(void)
{
    int down[2], up[2];
    if (pipe(down) != 0 || pipe(up) != 0) return -1;
    pid_t child = fork();
    if (child == 0) {
        unsigned char c;
        for (int i = 0; i < 100; i++) {
            if (read(down[0], &c, 1) != 1) _exit(1);
            c = (unsigned char)(c + 11);
            if (write(up[1], &c, 1) != 1) _exit(1);
        }
        _exit(0);
    }
    unsigned char c = 1;
    unsigned sum = 0;
    for (int i = 0; i < 100; i++) {
        if (write(down[1], &c, 1) != 1) return -1;
        if (read(up[0], &c, 1) != 1) return -1;
        sum = sum * 3 + c;
    }
    int status;
    waitpid(child, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? (int)(sum & 0x7fffffff) : -1;
}

static int alarm_pipe[2];

static void on_alarm(int sig)
{
    (void)sig;
    char c = 'x';
    if (write(alarm_pipe[1], &c, 1) != 1) _exit(3);
}

/* The desched signal blocked: the read sleeps until the timer's signal. */
static int read_until_alarm(void)
{
    if (pipe(alarm_pipe) != 0) return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    sigset_t pwr, old;
    sigemptyset(&pwr);
    sigaddset(&pwr, SIGPWR);
    sigprocmask(SIG_BLOCK, &pwr, &old);
    struct itimerval it = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
    char c = 0;
    ssize_t n = read(alarm_pipe[0], &c, 1);
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(alarm_pipe[0]);
    close(alarm_pipe[1]);
    return n == 1 ? c : -1;
}

static int sock[2];

static void* socket_partner(void* arg)
{
    (void)arg;
    unsigned char c;
    for (int i = 0; i < ROUNDS; i++) {
        struct pollfd p = {sock[1], POLLIN, 0};
        if (poll(&p, 1, -1) != 1 || !(p.revents & POLLIN)) return (void*)1;
        if (recv(sock[1], &c, 1, 0) != 1) return (void*)1;
        c = (unsigned char)(c * 5 + 2);
        if (send(sock[1], &c, 1, 0) != 1) return (void*)1;
    }
    return NULL;
}

static int socket_pingpong(void)
{
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sock) != 0) return -1;
    int ep = epoll_create1(0);
    struct epoll_event want = {EPOLLIN, {.u32 = 42}};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, sock[0], &want) != 0) return -1;
    pthread_t th;
    pthread_create(&th, NULL, socket_partner, NULL);
    unsigned char c = 3;
    unsigned sum = 0;
    for (int i = 0; i < ROUNDS; i++) {
        if (send(sock[0], &c, 1, 0) != 1) return -1;
        struct epoll_event got[4];
        if (epoll_wait(ep, got, 4, -1) != 1 || got[0].data.u32 != 42) return -1;
        if (recv(sock[0], &c, 1, 0) != 1) return -1;
        sum = sum * 7 + c;
    }
    void* r;
    pthread_join(th, &r);
    close(ep);
    close(sock[0]);
    close(sock[1]);
    return r ? -1 : (int)(sum & 0x7fffffff);
}

static void* socket_producer(void* arg)
{
    (void)arg;
    char msg[100];
    for (int i = 0; i < 400; i++) {
        memset(msg, 'A' + i % 26, sizeof msg);
        if (send(sock[1], msg, sizeof msg, 0) != sizeof msg) return (void*)1;
    }
    shutdown(sock[1], SHUT_WR);
    return NULL;
}

static int socket_producer_consumer(void)
{
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sock) != 0) return -1;
    pthread_t th;
    pthread_create(&th, NULL, socket_producer, NULL);
    char buf[256];
    unsigned sum = 0;
    long total = 0;
    for (;;) {
        struct pollfd p = {sock[0], POLLIN, 0};
        if (poll(&p, 1, 5000) != 1) return -1;
        ssize_t n = recv(sock[0], buf, sizeof buf, 0);
        if (n <= 0) break;
        for (ssize_t i = 0; i < n; i++) sum += (unsigned char)buf[i];
        total += n;
    }
    void* r;
    pthread_join(th, &r);
    close(sock[0]);
    close(sock[1]);
    return r || total != 40000 ? -1 : (int)sum;
}

int main(void)
{
    printf("pipe ping-pong: %d\n", pipe_pingpong());
    printf("futex ping-pong: %d\n", futex_pingpong());
    printf("producer and consumer: %d\n", producer_consumer());
    printf("forked ping-pong: %d\n", fork_pingpong());
    printf("read until the alarm: %c\n", read_until_alarm());
    printf("socket ping-pong: %d\n", socket_pingpong());
    printf("socket producer and consumer: %d\n", socket_producer_consumer());
    return 0;
}
