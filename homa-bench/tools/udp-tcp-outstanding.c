/*
 * The kernel alone, without a JVM, in the layout of homa-load's outstanding scenario: CLIENTS client processes each
 * keep K echo RPCs of MESSAGE_BYTES outstanding to one server process over loopback, over UDP (64 KiB datagrams,
 * sendmmsg/recvmmsg, a 12-byte header naming the client, the RPC and the offset) or over TCP (one TCP_NODELAY
 * connection per client, requests and responses back to back). Every process blocks in its receive call or in
 * poll(2) when it has nothing to do, as the TCP peers' event loops do. Prints the aggregate goodput (request and
 * response bytes over time). UDP has no flow control here: the server's receive buffer must hold every request
 * in flight (CLIENTS x K x MESSAGE_BYTES, at most 64 MiB), and a lost datagram ends the run with "lost".
 *
 *   gcc -O2 -o /tmp/udp-tcp-outstanding homa-bench/tools/udp-tcp-outstanding.c
 *   /tmp/udp-tcp-outstanding udp|tcp CLIENTS K MESSAGE_BYTES SECONDS
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "floor.h"

enum { DATAGRAM = 65507, HEADER = 12, CHUNK = DATAGRAM - HEADER, BATCH = 64, MAX_CLIENTS = 16 };

static long M;
static int K, CLIENTS;
/* Set by the parent when the window is over: an I/O error after it is the teardown's, not a failure. */
static volatile int *stop;

static void io_failed(const char *what)
{
    if (*stop)
    {
        _exit(0);
    }
    fail(what);
}

/* UDP: send one whole message (request or response) of RPC `rpc` for client `client` from buf. */
static void udp_send_message(int fd, const struct sockaddr_in *to, uint32_t client, uint32_t rpc, char *buf)
{
    struct mmsghdr m[BATCH];
    struct iovec iov[BATCH][2];
    uint32_t hdr[BATCH][3];
    long off = 0;
    while (off < M)
    {
        int n = 0;
        for (long o = off; n < BATCH && o < M; o += CHUNK, n++)
        {
            long len = M - o < CHUNK ? M - o : CHUNK;
            hdr[n][0] = client;
            hdr[n][1] = rpc;
            hdr[n][2] = (uint32_t)o;
            iov[n][0] = (struct iovec){ hdr[n], HEADER };
            iov[n][1] = (struct iovec){ buf + o, (size_t)len };
            memset(&m[n], 0, sizeof m[n]);
            m[n].msg_hdr.msg_iov = iov[n];
            m[n].msg_hdr.msg_iovlen = 2;
            m[n].msg_hdr.msg_name = (void *)to;
            m[n].msg_hdr.msg_namelen = sizeof *to;
        }
        int sent = sendmmsg(fd, m, n, 0);
        if (sent < 0)
        {
            if (EINTR == errno)
            {
                continue;
            }
            io_failed("sendmmsg");
        }
        for (int i = 0; i < sent; i++)
        {
            off += iov[i][1].iov_len;
        }
    }
}

/* UDP: read what is there (blocking for the first datagram) and count each RPC's bytes; calls done(client, rpc,
 * from) for each message completed. The payload stays where the kernel copied it (a floor: no placement, no copy
 * out), as UdpEchoFloor does. Returns 0 on a 1 s silence. */
typedef void (*on_done)(uint32_t client, uint32_t rpc, struct sockaddr_in *from, void *ctx);

static int udp_receive(int fd, long *got, uint32_t *rpcs, on_done done, void *ctx)
{
    static char scratch[BATCH][HEADER];
    static struct sockaddr_in from[BATCH];
    struct mmsghdr m[BATCH];
    struct iovec iov[BATCH][2];
    static char *landing;
    if (!landing)
    {
        landing = aligned_alloc(4096, (size_t)BATCH * 65536);
    }
    for (int i = 0; i < BATCH; i++)
    {
        iov[i][0] = (struct iovec){ scratch[i], HEADER };
        iov[i][1] = (struct iovec){ landing + (long)i * 65536, 65536 };
        memset(&m[i], 0, sizeof m[i]);
        m[i].msg_hdr.msg_iov = iov[i];
        m[i].msg_hdr.msg_iovlen = 2;
        m[i].msg_hdr.msg_name = &from[i];
        m[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    int n = recvmmsg(fd, m, BATCH, MSG_WAITFORONE, NULL);
    if (n < 0)
    {
        if (EAGAIN == errno || EINTR == errno)
        {
            return EAGAIN == errno ? 0 : 1;
        }
        io_failed("recvmmsg");
    }
    for (int i = 0; i < n; i++)
    {
        uint32_t *h = (uint32_t *)scratch[i];
        uint32_t client = h[0], rpc = h[1];
        long len = (long)m[i].msg_len - HEADER;
        int slot = (int)(client * (uint32_t)K + rpc % (uint32_t)K);
        if (rpcs[slot] != rpc)
        {
            rpcs[slot] = rpc;
            got[slot] = 0;
        }
        got[slot] += len;
        if (got[slot] == M)
        {
            got[slot] = 0;
            done(client, rpc, &from[i], ctx);
        }
    }
    return 1;
}

struct udp_server
{
    int fd;
    char **slots;
};

static void udp_server_done(uint32_t client, uint32_t rpc, struct sockaddr_in *from, void *ctx)
{
    struct udp_server *s = ctx;
    udp_send_message(s->fd, from, client, rpc, s->slots[client * (uint32_t)K + rpc % (uint32_t)K]);
}

struct udp_client
{
    int fd;
    uint32_t client;
    struct sockaddr_in *server;
    char *request;
    long completed;
};

static void udp_client_done(uint32_t client, uint32_t rpc, struct sockaddr_in *from, void *ctx)
{
    (void)client;
    (void)from;
    struct udp_client *c = ctx;
    c->completed++;
    udp_send_message(c->fd, c->server, c->client, rpc + (uint32_t)K, c->request);
}

static char **alloc_slots(int count)
{
    char **slots = calloc((size_t)count, sizeof *slots);
    for (int i = 0; i < count; i++)
    {
        slots[i] = aligned_alloc(4096, (size_t)((M + 4095) / 4096 * 4096));
        memset(slots[i], 1, (size_t)M);
    }
    return slots;
}

/* TCP: non-blocking, one connection; writes what it can of a pending byte count from buf, reads into buf. */
struct tcp_conn
{
    int fd;
    char *rbuf;
    long rgot;
    long wleft;
    long woff;
    char *wbuf;
};

static int tcp_pump_write(struct tcp_conn *c)
{
    while (c->wleft > 0)
    {
        long len = M - c->woff < c->wleft ? M - c->woff : c->wleft;
        long n = write(c->fd, c->wbuf + c->woff, (size_t)len);
        if (n < 0)
        {
            if (EAGAIN == errno)
            {
                return 0;
            }
            if (EINTR == errno)
            {
                continue;
            }
            io_failed("write");
        }
        c->wleft -= n;
        c->woff = (c->woff + n) % M;
    }
    return 1;
}

/* Reads available bytes; returns complete messages read. */
static long tcp_pump_read(struct tcp_conn *c, long max_messages)
{
    long messages = 0;
    while (messages < max_messages)
    {
        long n = read(c->fd, c->rbuf + c->rgot, (size_t)(M - c->rgot));
        if (n < 0)
        {
            if (EAGAIN == errno)
            {
                break;
            }
            if (EINTR == errno)
            {
                continue;
            }
            io_failed("read");
        }
        if (0 == n)
        {
            return -1;
        }
        c->rgot += n;
        if (c->rgot == M)
        {
            c->rgot = 0;
            messages++;
        }
    }
    return messages;
}

/* The kernel's count of UDP datagrams dropped for a full receive buffer (/proc/net/snmp, RcvbufErrors). */
static long udp_rcvbuf_errors(void)
{
    FILE *f = fopen("/proc/net/snmp", "r");
    char names[1024], values[1024];
    long result = -1;
    while (f && fgets(names, sizeof names, f) && fgets(values, sizeof values, f))
    {
        if (strncmp(names, "Udp:", 4))
        {
            continue;
        }
        int column = 0, wanted = -1;
        for (char *t = strtok(names, " \n"); t; t = strtok(NULL, " \n"), column++)
        {
            wanted = strcmp(t, "RcvbufErrors") ? wanted : column;
        }
        column = 0;
        for (char *t = strtok(values, " \n"); t; t = strtok(NULL, " \n"), column++)
        {
            result = column == wanted ? atol(t) : result;
        }
        break;
    }
    if (f)
    {
        fclose(f);
    }
    return result;
}

static void nonblocking(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

int main(int argc, char **argv)
{
    if (argc != 6)
    {
        fprintf(stderr, "usage: %s udp|tcp CLIENTS K MESSAGE_BYTES SECONDS\n", argv[0]);
        return 2;
    }
    int tcp = !strcmp(argv[1], "tcp");
    CLIENTS = atoi(argv[2]);
    K = atoi(argv[3]);
    M = atol(argv[4]);
    double seconds = atof(argv[5]);
    if (CLIENTS < 1 || CLIENTS > MAX_CLIENTS || K < 1 || M < 1 || M > (1L << 30))
    {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    if (!tcp && (long)CLIENTS * K * M > (64L << 20))
    {
        fprintf(stderr, "UDP without flow control: CLIENTS x K x MESSAGE_BYTES must be at most 64 MiB\n");
        return 2;
    }
    int one = 1, big = 128 << 20;
    struct sockaddr_in server = loopback(20000 + getpid() % 20000);
    int ls = bound_socket(tcp, &server, big, CLIENTS);
    /* Completed RPCs per client, shared with the parent, which times the window. */
    volatile long *completed = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    stop = (volatile int *)(completed + MAX_CLIENTS);

    pid_t pids[MAX_CLIENTS + 1];
    pids[0] = fork();
    if (0 == pids[0])
    {
        /* The server. */
        if (!tcp)
        {
            struct timeval tv = { 1, 0 };
            setsockopt(ls, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            struct udp_server s = { ls, alloc_slots(CLIENTS * K) };
            long *got = calloc((size_t)CLIENTS * K, sizeof *got);
            uint32_t *rpcs = calloc((size_t)CLIENTS * K, sizeof *rpcs);
            for (int i = 0; i < CLIENTS * K; i++)
            {
                rpcs[i] = UINT32_MAX;
            }
            while (!*stop)
            {
                udp_receive(ls, got, rpcs, udp_server_done, &s);
            }
            _exit(0);
        }
        struct tcp_conn conns[MAX_CLIENTS];
        struct pollfd pfd[MAX_CLIENTS];
        for (int i = 0; i < CLIENTS; i++)
        {
            int fd = accept(ls, NULL, NULL);
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            nonblocking(fd);
            conns[i] = (struct tcp_conn){ .fd = fd, .rbuf = alloc_slots(1)[0] };
            conns[i].wbuf = conns[i].rbuf;
        }
        while (!*stop)
        {
            for (int i = 0; i < CLIENTS; i++)
            {
                /* A connection whose answer is not out yet is not read further, as NioServer does. */
                pfd[i] = (struct pollfd){ conns[i].fd, conns[i].wleft > 0 ? POLLOUT : POLLIN, 0 };
            }
            if (poll(pfd, (nfds_t)CLIENTS, 1000) <= 0)
            {
                continue;
            }
            for (int i = 0; i < CLIENTS; i++)
            {
                struct tcp_conn *c = &conns[i];
                if (c->wleft > 0)
                {
                    tcp_pump_write(c);
                    continue;
                }
                long messages = tcp_pump_read(c, 1);
                if (messages < 0)
                {
                    _exit(0);
                }
                if (messages > 0)
                {
                    /* Echo from the buffer it arrived in. */
                    c->wleft = M;
                    c->woff = 0;
                    tcp_pump_write(c);
                }
            }
        }
        _exit(0);
    }
    for (int k = 0; k < CLIENTS; k++)
    {
        pids[k + 1] = fork();
        if (0 != pids[k + 1])
        {
            continue;
        }
        char *request = alloc_slots(1)[0];
        if (!tcp)
        {
            int fd = buffered_socket(0, big);
            struct timeval tv = { 1, 0 };
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            struct udp_client c = { fd, (uint32_t)k, &server, request, 0 };
            long *got = calloc((size_t)CLIENTS * K, sizeof *got);
            uint32_t *rpcs = calloc((size_t)CLIENTS * K, sizeof *rpcs);
            for (int i = 0; i < CLIENTS * K; i++)
            {
                rpcs[i] = UINT32_MAX;
            }
            for (int r = 0; r < K; r++)
            {
                udp_send_message(fd, &server, (uint32_t)k, (uint32_t)r, request);
            }
            while (!*stop)
            {
                if (!udp_receive(fd, got, rpcs, udp_client_done, &c) && !*stop)
                {
                    printf("lost: client %d silent for 1 s\n", k);
                    fflush(stdout);
                    completed[k] = -1;
                    _exit(1);
                }
                completed[k] = c.completed;
            }
            _exit(0);
        }
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, (struct sockaddr *)&server, sizeof server))
        {
            fail("connect");
        }
        nonblocking(fd);
        struct tcp_conn c = { .fd = fd, .rbuf = alloc_slots(1)[0], .wbuf = request, .wleft = (long)K * M };
        long done = 0;
        while (!*stop)
        {
            struct pollfd p = { fd, POLLIN | (c.wleft > 0 ? POLLOUT : 0), 0 };
            if (poll(&p, 1, 1000) <= 0)
            {
                continue;
            }
            if (c.wleft > 0)
            {
                tcp_pump_write(&c);
            }
            long messages = tcp_pump_read(&c, K);
            if (messages < 0)
            {
                break;
            }
            done += messages;
            c.wleft += messages * M;
            completed[k] = done;
            if (c.wleft > 0)
            {
                tcp_pump_write(&c);
            }
        }
        _exit(0);
    }

    /* Warm up for a second, then count the RPCs completed in the window. */
    double start = now() + 1.0;
    while (now() < start)
    {
        usleep(10000);
    }
    long before = 0, after = 0, drops = udp_rcvbuf_errors();
    for (int k = 0; k < CLIENTS; k++)
    {
        before += completed[k];
    }
    double t0 = now();
    while (now() < t0 + seconds)
    {
        usleep(10000);
    }
    int lost = 0;
    for (int k = 0; k < CLIENTS; k++)
    {
        after += completed[k];
        lost |= completed[k] < 0;
    }
    double t = now() - t0;
    drops = udp_rcvbuf_errors() - drops;
    *stop = 1;
    if (!lost)
    {
        printf("%s clients=%d K=%d %ld: %.2f Gb/s goodput (req+resp), %ld RPCs, %ld UDP receive-buffer drops\n",
            argv[1], CLIENTS, K, M, 2.0 * (double)(after - before) * (double)M * 8 / t / 1e9, after - before, drops);
    }
    fflush(stdout);
    /* Clients first: a client that outlived its server would report the reset. */
    for (int i = CLIENTS; i >= 0; i--)
    {
        kill(pids[i], SIGKILL);
        waitpid(pids[i], NULL, 0);
    }
    return lost;
}
