/*
 * Anchor: single-threaded HTTP/1.1 keep-alive "plaintext" server on raw
 * edge-triggered epoll. This is the "physical limit" proxy for the anchors.
 *
 *   gcc -O2 -o server server.c && ./server PORT [--short-read]
 *   gcc -O2 -DEDDY_REPLY -o c129 server.c   # eddy's 129-byte reply instead
 *
 * Logic (shared by every anchor server):
 *   - listener and connections are nonblocking, registered edge-triggered;
 *   - on a listener edge: accept until EAGAIN;
 *   - on a readable edge: read until EAGAIN, counting complete requests by
 *     finding "\r\n\r\n" (state carried across reads, so split and
 *     pipelined requests are both handled);
 *   - after the read batch: one write carrying every reply owed
 *     (more only if the kernel takes a partial write, then EPOLLOUT resumes);
 *   - EOF: answer the requests already read (best effort), then close;
 *     any error: close.
 *
 * --short-read (an extra variant, not the default): stop reading as soon as
 * a read returns less than the buffer, unless the event also reported a
 * hang-up. On Linux epoll a short read proves the queue was drained and any
 * later data raises a new edge, so this saves the read() that only returns
 * EAGAIN. tokio's own poll_read does the same.
 *
 * Replies are all identical, so the output of a connection is a prefix of
 * RESP repeated forever. A connection's pending output is therefore just
 * (bytes owed, phase = bytes already sent mod RESP_LEN), and writes come
 * straight from a static buffer holding many copies of RESP: no copying.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef EDDY_REPLY
static const char RESP[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Length: 13\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "Hello, World!";
#else
/* -DEDDY_REPLY (the "c129" variant): the 129 bytes `eddy serve` answers
 * GET / with, Date and Server headers included (a fixed date of the same
 * length), so the bytes on the wire are eddy's and eddy / c129 is the price
 * of eddy's code alone. */
static const char RESP[] =
    "HTTP/1.1 200 OK\r\n"
    "Server: eddy\r\n"
    "Date: Mon, 23 Nov 2026 09:10:25 GMT\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 13\r\n"
    "\r\n"
    "Hello, World!";
_Static_assert(sizeof(RESP) - 1 == 129, "eddy's reply is 129 bytes");
#endif
#define RESP_LEN (sizeof(RESP) - 1)
#define RESP_COPIES 512
#define READ_BUF 65536
#define MAX_EVENTS 1024

struct conn {
    uint64_t owed;   /* reply bytes not yet written */
    uint32_t phase;  /* bytes written so far, mod RESP_LEN */
    uint8_t match;   /* how much of "\r\n\r\n" the stream currently ends with */
    uint8_t open;
};

static char replies[RESP_LEN * RESP_COPIES];
static char rbuf[READ_BUF];
static struct conn *conns;
static int max_fds;
static int epfd;
static int short_read;

/* Count complete request heads in buf, carrying the partial-terminator
 * state in *match. On a mismatch the only possible restart is "\r". */
static uint64_t count_requests(const char *buf, size_t n, uint8_t *match) {
    static const char term[4] = {'\r', '\n', '\r', '\n'};
    uint64_t count = 0;
    uint8_t m = *match;
    for (size_t i = 0; i < n; i++) {
        char c = buf[i];
        if (c == term[m]) {
            if (++m == 4) {
                count++;
                m = 0;
            }
        } else {
            m = (c == '\r') ? 1 : 0;
        }
    }
    *match = m;
    return count;
}

static void close_conn(int fd) {
    conns[fd].open = 0;
    close(fd); /* also removes it from the epoll set */
}

/* Write owed bytes until done or EAGAIN. Returns -1 if the conn was closed. */
static int flush_conn(int fd) {
    struct conn *c = &conns[fd];
    while (c->owed > 0) {
        size_t avail = sizeof(replies) - c->phase;
        size_t len = c->owed < avail ? (size_t)c->owed : avail;
        ssize_t w = write(fd, replies + c->phase, len);
        if (w > 0) {
            c->owed -= (uint64_t)w;
            c->phase = (uint32_t)((c->phase + (size_t)w) % RESP_LEN);
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && errno == EAGAIN) {
            return 0; /* EPOLLOUT edge will resume */
        } else {
            close_conn(fd);
            return -1;
        }
    }
    return 0;
}

/* Read until EAGAIN (or a short read, with --short-read), then write all
 * replies for that batch. */
static void on_readable(int fd, uint32_t ev) {
    int may_stop_short = short_read && !(ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR));
    struct conn *c = &conns[fd];
    uint64_t reqs = 0;
    int eof = 0;
    for (;;) {
        ssize_t r = read(fd, rbuf, sizeof(rbuf));
        if (r > 0) {
            reqs += count_requests(rbuf, (size_t)r, &c->match);
            if (may_stop_short && (size_t)r < sizeof(rbuf))
                break;
        } else if (r == 0) {
            eof = 1; /* peer half-closed: answer what came, then close */
            break;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN) {
            break;
        } else {
            close_conn(fd);
            return;
        }
    }
    if (reqs > 0) {
        c->owed += reqs * RESP_LEN;
        if (flush_conn(fd) < 0)
            return;
    }
    if (eof)
        close_conn(fd); /* best effort: anything still owed is dropped */
}

static void on_listener(int lfd) {
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return; /* EAGAIN, or EMFILE & co: wait for the next edge */
        }
        if (fd >= max_fds) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        conns[fd] = (struct conn){.owed = 0, .phase = 0, .match = 0, .open = 1};
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                 .data.fd = fd};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
            close_conn(fd);
    }
}

int main(int argc, char **argv) {
    if (argc < 2 || (argc > 2 && strcmp(argv[2], "--short-read") != 0)) {
        fprintf(stderr, "usage: %s PORT [--short-read]\n", argv[0]);
        return 2;
    }
    short_read = argc > 2;
    int port = atoi(argv[1]);
    signal(SIGPIPE, SIG_IGN);

    for (size_t i = 0; i < RESP_COPIES; i++)
        memcpy(replies + i * RESP_LEN, RESP, RESP_LEN);

    struct rlimit rl;
    max_fds = 65536;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)max_fds)
        max_fds = (int)rl.rlim_cur;
    conns = calloc((size_t)max_fds, sizeof(*conns));
    if (!conns) {
        perror("calloc");
        return 1;
    }

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0) {
        perror("socket");
        return 1;
    }
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        perror("bind");
        return 1;
    }
    if (listen(lfd, 128) < 0) { /* same backlog as std and mio */
        perror("listen");
        return 1;
    }

    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) {
        perror("epoll_create1");
        return 1;
    }
    struct epoll_event lev = {.events = EPOLLIN | EPOLLET, .data.fd = lfd};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) < 0) {
        perror("epoll_ctl");
        return 1;
    }

    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(epfd, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            uint32_t ev = events[i].events;
            if (fd == lfd) {
                on_listener(lfd);
                continue;
            }
            if (!conns[fd].open)
                continue;
            /* Errors and hang-ups are discovered by read() returning 0/-1,
             * so readable-ish events all go through the read path. */
            if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
                on_readable(fd, ev);
                if (!conns[fd].open)
                    continue;
            }
            if ((ev & EPOLLOUT) && conns[fd].owed > 0)
                flush_conn(fd);
        }
    }
}
