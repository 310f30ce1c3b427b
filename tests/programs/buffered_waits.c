/* buffered_waits: the calls real programs wait with, made through the
 * syscall buffer (docs/syscall-buffer.md, "Blocking calls"): condition
 * variables (glibc's FUTEX_WAIT_BITSET waits, and wakes from its own
 * syscall instructions), timed waits whose deadline has passed, select,
 * pselect6, ppoll and epoll_pwait that find data waiting and a ppoll
 * ping-pong that blocks, sendmsg and recvmsg over a socket pair (a
 * ping-pong, and a peek over two iovecs), a listener that accepts the
 * connections another thread makes, and madvise (WILLNEED, buffered;
 * DONTNEED, which must zero the pages in replay too). Prints only what does
 * not change between runs. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 200

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int turn;
static unsigned cond_sum;

static void* cond_partner(void* arg)
{
    int me = (int)(intptr_t)arg;
    for (int i = 0; i < ROUNDS; i++) {
        pthread_mutex_lock(&lock);
        while (turn != me) pthread_cond_wait(&changed, &lock);
        cond_sum = cond_sum * 3 + (unsigned)me + 1;
        turn = !me;
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

/* Two threads taking turns under a condition variable; then timed waits
 * whose deadline has passed (they never block). */
static int cond_pingpong(void)
{
    pthread_t a, b;
    pthread_create(&a, NULL, cond_partner, (void*)0);
    pthread_create(&b, NULL, cond_partner, (void*)1);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    int timed_out = 0;
    struct timespec past = {1, 0};
    pthread_mutex_lock(&lock);
    for (int i = 0; i < 50; i++) timed_out += pthread_cond_timedwait(&changed, &lock, &past) == ETIMEDOUT;
    pthread_mutex_unlock(&lock);
    return timed_out == 50 ? (int)(cond_sum & 0x7fffffff) : -1;
}

/* select, pselect, ppoll and epoll_pwait of a pipe with a byte waiting,
 * each 100 times: none of them blocks. */
static int waits_with_data(void)
{
    int p[2];
    if (pipe(p) != 0 || write(p[1], "x", 1) != 1) return -1;
    int ep = epoll_create1(0);
    struct epoll_event want = {EPOLLIN, {.u32 = 7}};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &want) != 0) return -1;
    int ready = 0;
    for (int i = 0; i < 100; i++) {
        fd_set r;
        FD_ZERO(&r);
        FD_SET(p[0], &r);
        struct timeval tv = {5, 0};
        ready += select(p[0] + 1, &r, NULL, NULL, &tv) == 1 && FD_ISSET(p[0], &r);
        FD_ZERO(&r);
        FD_SET(p[0], &r);
        ready += pselect(p[0] + 1, &r, NULL, NULL, NULL, NULL) == 1 && FD_ISSET(p[0], &r);
        struct pollfd f = {p[0], POLLIN, 0};
        struct timespec ts = {5, 0};
        ready += ppoll(&f, 1, &ts, NULL) == 1 && (f.revents & POLLIN);
        struct epoll_event got;
        ready += epoll_pwait(ep, &got, 1, -1, NULL) == 1 && got.data.u32 == 7;
    }
    /* Nothing waiting and no time to wait: 0 each. */
    char c;
    if (read(p[0], &c, 1) != 1) return -1;
    fd_set r;
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    struct timeval zero = {0, 0};
    int none = select(p[0] + 1, &r, NULL, NULL, &zero) == 0 && !FD_ISSET(p[0], &r);
    close(ep);
    close(p[0]);
    close(p[1]);
    return none ? ready : -1;
}

static int to_b[2], to_a[2];

static void* ppoll_partner(void* arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        struct pollfd f = {to_b[0], POLLIN, 0};
        if (ppoll(&f, 1, NULL, NULL) != 1) return (void*)1;
        unsigned char c;
        if (read(to_b[0], &c, 1) != 1) return (void*)1;
        c = (unsigned char)(c * 3 + 1);
        if (write(to_a[1], &c, 1) != 1) return (void*)1;
    }
    return NULL;
}

/* A ping-pong whose partner waits with ppoll, which blocks every time. */
static int ppoll_pingpong(void)
{
    if (pipe(to_b) != 0 || pipe(to_a) != 0) return -1;
    pthread_t th;
    pthread_create(&th, NULL, ppoll_partner, NULL);
    unsigned char c = 5;
    unsigned sum = 0;
    for (int i = 0; i < ROUNDS; i++) {
        if (write(to_b[1], &c, 1) != 1) return -1;
        fd_set r;
        FD_ZERO(&r);
        FD_SET(to_a[0], &r);
        if (select(to_a[0] + 1, &r, NULL, NULL, NULL) != 1 || read(to_a[0], &c, 1) != 1) return -1;
        sum = sum * 31 + c;
    }
    void* ret;
    pthread_join(th, &ret);
    close(to_b[0]);
    close(to_b[1]);
    close(to_a[0]);
    close(to_a[1]);
    return ret ? -1 : (int)(sum & 0x7fffffff);
}

static int sock[2];

static ssize_t send_one(int fd, const void* buf, size_t len)
{
    struct iovec iov = {(void*)buf, len};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    return sendmsg(fd, &m, 0);
}

static void* msg_partner(void* arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        unsigned char c;
        struct iovec iov = {&c, 1};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
        if (recvmsg(sock[1], &m, 0) != 1 || m.msg_flags != 0) return (void*)1;
        c = (unsigned char)(c * 5 + 2);
        if (send_one(sock[1], &c, 1) != 1) return (void*)1;
    }
    return NULL;
}

/* sendmsg and recvmsg ping-pong over a datagram socket pair; then a peek
 * over two iovecs and a datagram cut short (MSG_TRUNC in msg_flags). */
static int msg_pingpong(void)
{
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sock) != 0) return -1;
    pthread_t th;
    pthread_create(&th, NULL, msg_partner, NULL);
    unsigned char c = 3;
    unsigned sum = 0;
    for (int i = 0; i < ROUNDS; i++) {
        if (send_one(sock[0], &c, 1) != 1) return -1;
        struct iovec iov = {&c, 1};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
        if (recvmsg(sock[0], &m, 0) != 1) return -1;
        sum = sum * 7 + c;
    }
    void* ret;
    pthread_join(th, &ret);
    if (ret || send_one(sock[1], "abcdefgh", 8) != 8) return -1;
    char x[3] = {0}, y[8] = {0};
    struct iovec two[2] = {{x, 3}, {y, 8}};
    struct msghdr m = {.msg_iov = two, .msg_iovlen = 2};
    if (recvmsg(sock[0], &m, MSG_PEEK) != 8 || memcmp(x, "abc", 3) != 0 || memcmp(y, "defgh", 5) != 0) return -1;
    struct iovec short_iov = {x, 3};
    struct msghdr cut = {.msg_iov = &short_iov, .msg_iovlen = 1};
    if (recvmsg(sock[0], &cut, 0) != 3 || !(cut.msg_flags & MSG_TRUNC)) return -1;
    /* 50 datagrams waiting: none of their recvmsgs blocks. */
    for (int i = 0; i < 50; i++) {
        c = (unsigned char)i;
        if (send_one(sock[1], &c, 1) != 1) return -1;
    }
    for (int i = 0; i < 50; i++) {
        struct iovec iov = {&c, 1};
        struct msghdr got = {.msg_iov = &iov, .msg_iovlen = 1};
        if (recvmsg(sock[0], &got, 0) != 1) return -1;
        sum = sum * 7 + c;
    }
    close(sock[0]);
    close(sock[1]);
    return (int)(sum & 0x7fffffff);
}

static char sock_path[108];

static void* connector(void* arg)
{
    int count = (int)(intptr_t)arg;
    for (int i = 0; i < count; i++) {
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un to = {AF_UNIX, {0}};
        strcpy(to.sun_path, sock_path);
        if (s < 0 || connect(s, (struct sockaddr*)&to, sizeof to) != 0) return (void*)1;
        char c = (char)('a' + i);
        if (write(s, &c, 1) != 1) return (void*)1;
        close(s);
    }
    return NULL;
}

/* A listener accepts (accept4, with the peer's address) the 20
 * connections another thread made (none of these accepts blocks), and
 * reads a byte from each; then one that another thread makes meanwhile. */
static int accept_connections(void)
{
    char dir[] = "/tmp/buffered_waits-XXXXXX";
    if (!mkdtemp(dir)) return -1;
    snprintf(sock_path, sizeof sock_path, "%s/s", dir);
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un at = {AF_UNIX, {0}};
    strcpy(at.sun_path, sock_path);
    if (l < 0 || bind(l, (struct sockaddr*)&at, sizeof at) != 0 || listen(l, 32) != 0) return -1;
    pthread_t th;
    void* ret;
    pthread_create(&th, NULL, connector, (void*)20);
    pthread_join(th, &ret);
    if (ret) return -1;
    pthread_create(&th, NULL, connector, (void*)1);
    unsigned sum = 0;
    for (int i = 0; i < 21; i++) {
        struct sockaddr_un peer;
        socklen_t len = sizeof peer;
        memset(&peer, 0x55, sizeof peer);
        int s = accept4(l, (struct sockaddr*)&peer, &len, SOCK_CLOEXEC);
        char c;
        if (s < 0 || peer.sun_family != AF_UNIX || read(s, &c, 1) != 1) return -1;
        sum = sum * 3 + (unsigned char)c + len;
        close(s);
    }
    pthread_join(th, &ret);
    close(l);
    unlink(sock_path);
    rmdir(dir);
    return ret ? -1 : (int)sum;
}

/* madvise WILLNEED 100 times (no effect on contents), then DONTNEED, which
 * must zero the private pages in replay as in recording. */
static int advice(void)
{
    size_t len = 16 * 4096;
    unsigned char* m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return -1;
    memset(m, 0xab, len);
    int ok = 0;
    for (int i = 0; i < 100; i++) ok += madvise(m + (i % 16) * 4096, 4096, MADV_WILLNEED) == 0;
    if (madvise(m, len / 2, MADV_DONTNEED) != 0) return -1;
    unsigned sum = 0;
    for (size_t i = 0; i < len; i += 512) sum += m[i];
    munmap(m, len);
    return ok == 100 ? (int)sum : -1;
}

int main(void)
{
    printf("condition variable ping-pong: %d\n", cond_pingpong());
    printf("waits with data waiting: %d\n", waits_with_data());
    printf("ppoll ping-pong: %d\n", ppoll_pingpong());
    printf("sendmsg and recvmsg: %d\n", msg_pingpong());
    printf("accepted: %d\n", accept_connections());
    printf("advice: %d\n", advice());
    return 0;
}
