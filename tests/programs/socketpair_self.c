/* socketpair_self: AF_UNIX socketpair (stream + dgram) in one process: send/recv, sendmsg/recvmsg, SCM_RIGHTS fd passing, shutdown. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { perror(#c); exit(1); } } while (0)

int main(void)
{
    int sv[2];
    char buf[256];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(write(sv[0], "ping", 4) == 4);
    ssize_t n = read(sv[1], buf, sizeof buf);
    printf("stream read %zd: %.*s\n", n, (int)n, buf);
    CHECK(send(sv[1], "pong", 4, 0) == 4);
    n = recv(sv[0], buf, sizeof buf, 0);
    printf("stream recv %zd: %.*s\n", n, (int)n, buf);
    CHECK(send(sv[1], "peekdata", 8, 0) == 8);
    n = recv(sv[0], buf, sizeof buf, MSG_PEEK);
    printf("MSG_PEEK %zd: %.*s\n", n, (int)n, buf);
    n = recv(sv[0], buf, sizeof buf, 0);
    printf("recv after peek %zd: %.*s\n", n, (int)n, buf);
    n = recv(sv[0], buf, sizeof buf, MSG_DONTWAIT);
    printf("recv MSG_DONTWAIT on empty: %s\n", n < 0 && errno == EAGAIN ? "EAGAIN" : "unexpected");

    /* pass an fd with SCM_RIGHTS: a pipe read end */
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(write(p[1], "data-in-passed-pipe", 19) == 19);
    struct iovec iov = { .iov_base = "F", .iov_len = 1 };
    union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } cbuf;
    memset(&cbuf, 0, sizeof cbuf);
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.b,
                          .msg_controllen = sizeof cbuf.b };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &p[0], sizeof(int));
    CHECK(sendmsg(sv[0], &msg, 0) == 1);

    char one;
    struct iovec riov = { .iov_base = &one, .iov_len = 1 };
    union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } rbuf;
    memset(&rbuf, 0, sizeof rbuf);
    struct msghdr rmsg = { .msg_iov = &riov, .msg_iovlen = 1, .msg_control = rbuf.b,
                           .msg_controllen = sizeof rbuf.b };
    n = recvmsg(sv[1], &rmsg, MSG_CMSG_CLOEXEC);
    printf("recvmsg %zd byte '%c'\n", n, one);
    struct cmsghdr *rc = CMSG_FIRSTHDR(&rmsg);
    if (rc && rc->cmsg_type == SCM_RIGHTS) {
        int fd;
        memcpy(&fd, CMSG_DATA(rc), sizeof fd);
        printf("received fd is new fd: %s\n", fd != p[0] ? "yes" : "no");
        n = read(fd, buf, sizeof buf);
        printf("read from received fd: %.*s\n", (int)n, buf);
        close(fd);
    } else {
        printf("no SCM_RIGHTS received\n");
    }
    close(p[0]);
    close(p[1]);

    CHECK(shutdown(sv[0], SHUT_WR) == 0);
    n = read(sv[1], buf, sizeof buf);
    printf("read after peer SHUT_WR: %zd\n", n);
    close(sv[0]);
    close(sv[1]);

    /* datagram socketpair preserves message boundaries */
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == 0);
    CHECK(send(sv[0], "one", 3, 0) == 3);
    CHECK(send(sv[0], "three", 5, 0) == 5);
    n = recv(sv[1], buf, sizeof buf, 0);
    printf("dgram 1: %.*s\n", (int)n, buf);
    n = recv(sv[1], buf, 2, MSG_TRUNC);
    printf("dgram 2 truncated: real length %zd, got %.2s\n", n, buf);
    close(sv[0]);
    close(sv[1]);
    return 0;
}
