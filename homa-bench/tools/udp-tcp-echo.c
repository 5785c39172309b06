/*
 * The kernel alone, without a JVM: one client and one server process echo messages of one size over loopback, one
 * message at a time, over UDP (64 KiB datagrams, sendmmsg/recvmmsg) or over TCP (TCP_NODELAY, write/recv), the
 * layout of homa-load's echo scenario and of UdpEchoFloor. Prints goodput (request and response bytes over time) and
 * the client's CPU seconds per GB. docs/benchmarks.md uses it to show what the kernel's two paths cost for the same
 * echo.
 *
 *   gcc -O2 -o /tmp/udp-tcp-echo homa-bench/tools/udp-tcp-echo.c
 *   /tmp/udp-tcp-echo udp|tcp MESSAGE_BYTES SECONDS SPIN
 *
 * SPIN 1 polls with MSG_DONTWAIT; 0 blocks in the receive call.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "floor.h"

enum { DATAGRAM = 65507, BATCH = 64 };

static int tcp, spin;
static long M;

/* One whole message from buf: TCP in one write loop, UDP as datagrams of DATAGRAM bytes through sendmmsg. */
static void send_message(int fd, char *buf)
{
    long off = 0;
    if (tcp)
    {
        while (off < M)
        {
            long n = write(fd, buf + off, (size_t)(M - off));
            if (n > 0)
            {
                off += n;
            }
            else if (EAGAIN != errno && EINTR != errno)
            {
                fail("write");
            }
        }
        return;
    }
    struct mmsghdr m[BATCH];
    struct iovec iov[BATCH];
    while (off < M)
    {
        int count = 0;
        for (long o = off; count < BATCH && o < M; count++)
        {
            long len = M - o < DATAGRAM ? M - o : DATAGRAM;
            iov[count] = (struct iovec){ buf + o, (size_t)len };
            memset(&m[count], 0, sizeof m[count]);
            m[count].msg_hdr.msg_iov = &iov[count];
            m[count].msg_hdr.msg_iovlen = 1;
            o += len;
        }
        int n = sendmmsg(fd, m, (unsigned)count, 0);
        if (n > 0)
        {
            for (int i = 0; i < n; i++)
            {
                off += (long)iov[i].iov_len;
            }
        }
        else if (EAGAIN != errno && EINTR != errno)
        {
            fail("sendmmsg");
        }
    }
}

/* One whole message into buf, each datagram at its place (they arrive in order on loopback). Returns 0 if the
 * deadline passes first or the peer closed. */
static int receive_message(int fd, char *buf, double deadline)
{
    long got = 0;
    int flags = spin ? MSG_DONTWAIT : 0;
    while (got < M)
    {
        if (now() > deadline)
        {
            return 0;
        }
        if (tcp)
        {
            long n = recv(fd, buf + got, (size_t)(M - got), flags);
            if (n > 0)
            {
                got += n;
            }
            else if (0 == n)
            {
                return 0;
            }
            continue;
        }
        struct mmsghdr m[BATCH];
        struct iovec iov[BATCH];
        int count = 0;
        for (long o = got; count < BATCH && o < M; o += DATAGRAM, count++)
        {
            iov[count] = (struct iovec){ buf + o, DATAGRAM };
            memset(&m[count], 0, sizeof m[count]);
            m[count].msg_hdr.msg_iov = &iov[count];
            m[count].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg(fd, m, (unsigned)count, flags | MSG_WAITFORONE, NULL);
        for (int i = 0; i < n; i++)
        {
            got += m[i].msg_len;
        }
    }
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 5)
    {
        fprintf(stderr, "usage: %s udp|tcp MESSAGE_BYTES SECONDS SPIN\n", argv[0]);
        return 2;
    }
    tcp = !strcmp(argv[1], "tcp");
    M = atol(argv[2]);
    double seconds = atof(argv[3]);
    spin = atoi(argv[4]);
    if (M < 1 || M > (1L << 30) || seconds <= 0)
    {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    int one = 1, big = 8 << 20;
    int port = 20000 + getpid() % 20000;
    struct sockaddr_in server = loopback(port);
    struct sockaddr_in client = loopback(port + 1);
    int ls = bound_socket(tcp, &server, big, 1);
    char *buf = aligned_alloc(4096, (size_t)(M + BATCH * 65536L));
    memset(buf, 3, (size_t)M);

    pid_t pid = fork();
    if (0 == pid)
    {
        /* The server: echo each message from the buffer it arrived in. */
        int fd = ls;
        if (tcp)
        {
            fd = accept(ls, NULL, NULL);
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        else
        {
            connect(fd, (struct sockaddr *)&client, sizeof client);
        }
        while (receive_message(fd, buf, now() + seconds + 5))
        {
            send_message(fd, buf);
        }
        _exit(0);
    }

    int fd = buffered_socket(tcp, big);
    if (tcp)
    {
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    else if (bind(fd, (struct sockaddr *)&client, sizeof client))
    {
        fail("bind");
    }
    if (connect(fd, (struct sockaddr *)&server, sizeof server))
    {
        fail("connect");
    }
    double t0 = now(), end = t0 + seconds, c0 = cpu_seconds();
    long rpcs = 0;
    while (now() < end)
    {
        send_message(fd, buf);
        if (!receive_message(fd, buf, now() + 1))
        {
            printf("lost\n");
            break;
        }
        rpcs++;
    }
    double t = now() - t0;
    double bytes = 2.0 * (double)rpcs * (double)M;
    printf("%s %ld spin=%d: %.2f Gb/s goodput (req+resp), client cpu %.3f s/GB\n", argv[1], M, spin,
        bytes * 8 / t / 1e9, (cpu_seconds() - c0) / (bytes / 1e9));
    fflush(stdout);
    close(fd);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return 0;
}
