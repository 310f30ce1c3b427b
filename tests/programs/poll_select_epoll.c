/* poll_select_epoll: readiness of a pipe via poll, ppoll, select, pselect and epoll (incl. timeouts with nothing ready). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { perror(#c); exit(1); } } while (0)

int main(void)
{
    int p[2];
    char buf[64];
    CHECK(pipe(p) == 0);

    struct pollfd pf[2] = { { .fd = p[0], .events = POLLIN }, { .fd = p[1], .events = POLLOUT } };
    int r = poll(pf, 2, 0);
    printf("poll empty pipe: ret=%d read-end POLLIN=%s write-end POLLOUT=%s\n", r,
           (pf[0].revents & POLLIN) ? "yes" : "no", (pf[1].revents & POLLOUT) ? "yes" : "no");
    r = poll(pf, 1, 20);
    printf("poll read end with 20ms timeout: ret=%d\n", r);
    CHECK(write(p[1], "x", 1) == 1);
    r = poll(pf, 1, -1);
    printf("poll after write: ret=%d POLLIN=%s\n", r, (pf[0].revents & POLLIN) ? "yes" : "no");

    struct timespec ts = { 0, 5 * 1000 * 1000 };
    sigset_t mask;
    sigemptyset(&mask);
    r = ppoll(pf, 1, &ts, &mask);
    printf("ppoll: ret=%d POLLIN=%s\n", r, (pf[0].revents & POLLIN) ? "yes" : "no");
    CHECK(read(p[0], buf, 1) == 1);

    fd_set rfds;
    struct timeval tv = { 0, 10000 };
    FD_ZERO(&rfds);
    FD_SET(p[0], &rfds);
    r = select(p[0] + 1, &rfds, NULL, NULL, &tv);
    printf("select on empty pipe 10ms: ret=%d\n", r);
    CHECK(write(p[1], "yz", 2) == 2);
    FD_ZERO(&rfds);
    FD_SET(p[0], &rfds);
    fd_set wfds;
    FD_ZERO(&wfds);
    FD_SET(p[1], &wfds);
    tv.tv_sec = 1;
    tv.tv_usec = 0;
    r = select((p[0] > p[1] ? p[0] : p[1]) + 1, &rfds, &wfds, NULL, &tv);
    printf("select after write: ret=%d readable=%s writable=%s\n", r,
           FD_ISSET(p[0], &rfds) ? "yes" : "no", FD_ISSET(p[1], &wfds) ? "yes" : "no");
    FD_ZERO(&rfds);
    FD_SET(p[0], &rfds);
    ts.tv_nsec = 0;
    r = pselect(p[0] + 1, &rfds, NULL, NULL, &ts, &mask);
    printf("pselect: ret=%d readable=%s\n", r, FD_ISSET(p[0], &rfds) ? "yes" : "no");
    CHECK(read(p[0], buf, 2) == 2);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    CHECK(ep >= 0);
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0xabcdef };
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0);
    struct epoll_event out[4];
    r = epoll_wait(ep, out, 4, 15);
    printf("epoll_wait empty 15ms: ret=%d\n", r);
    CHECK(write(p[1], "abc", 3) == 3);
    memset(out, 0, sizeof out);
    r = epoll_wait(ep, out, 4, 1000);
    printf("epoll_wait after write: ret=%d data=%llx EPOLLIN=%s\n", r,
           (unsigned long long)out[0].data.u64, (out[0].events & EPOLLIN) ? "yes" : "no");
    ev.events = EPOLLIN | EPOLLET;
    ev.data.u64 = 7;
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev) == 0);
    r = epoll_pwait(ep, out, 4, 0, &mask);
    printf("epoll_pwait after MOD to ET (data still buffered): ret=%d data=%llu\n", r,
           (unsigned long long)out[0].data.u64);
    r = epoll_wait(ep, out, 4, 0);
    printf("epoll_wait ET again w/o new data: ret=%d\n", r);
    CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL) == 0);
    errno = 0;
    printf("EPOLL_CTL_DEL twice: %s\n",
           epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL) < 0 && errno == ENOENT ? "ENOENT" : "unexpected");
    close(ep);
    close(p[0]);
    close(p[1]);
    return 0;
}
