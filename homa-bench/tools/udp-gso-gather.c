/*
 * What the kernel's copy costs for one UDP GSO send of 44 segments of 1,472 bytes, as the UDP driver sends a run of
 * a message's DATA packets over a 1,500-byte MTU, by how the bytes reach the kernel:
 *
 *   gathered    88 iovecs: each segment's 56-byte header from a header area, then its 1,416-byte payload piece from
 *               a 1 MiB pool (the driver gathering a run straight from its slots and the message's pages)
 *   copied      the same pieces copied back to back into a page-aligned buffer first, then that buffer as one iovec
 *               (the driver staging a run, RunStaging)
 *   contiguous  one iovec from a page-aligned buffer with nothing copied before: the floor under both
 *
 * The receiver reads with UDP_GRO, as the driver does, so a send arrives as one datagram. The sender prints its
 * goodput and CPU seconds per GB; over veth (and loopback) the receiving stack up to the socket runs on the sender's
 * CPU inside the send, so that is in it too. docs/benchmarks.md uses it to show why the driver stages GSO runs.
 *
 *   gcc -O2 -o /tmp/udp-gso-gather homa-bench/tools/udp-gso-gather.c
 *   /tmp/udp-gso-gather receive PORT &
 *   /tmp/udp-gso-gather send gathered|copied|contiguous IPV4 PORT SECONDS
 *
 * The receiver exits after a second without data.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "floor.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

enum { SEGMENT = 1472, SEGMENTS = 44, HEADER = 56, PAYLOAD = SEGMENT - HEADER, POOL = 1 << 20, BATCH = 16 };

static int receive(int port)
{
    int one = 1;
    struct sockaddr_in at = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    int fd = bound_socket(0, &at, 16 << 20, 0);
    struct timeval idle = { 1, 0 };
    static char buffers[BATCH][65536];
    struct mmsghdr messages[BATCH];
    struct iovec iovecs[BATCH];
    long bytes = 0;
    setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
    for (;;)
    {
        for (int i = 0; i < BATCH; i++)
        {
            iovecs[i] = (struct iovec){ buffers[i], sizeof buffers[i] };
            memset(&messages[i].msg_hdr, 0, sizeof messages[i].msg_hdr);
            messages[i].msg_hdr.msg_iov = &iovecs[i];
            messages[i].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg(fd, messages, BATCH, 0, NULL);
        if (n <= 0)
        {
            break;
        }
        for (int i = 0; i < n; i++)
        {
            bytes += messages[i].msg_len;
        }
    }
    printf("received %.3f GB\n", bytes / 1e9);
    return 0;
}

static int send_for(const char *mode, const char *ip, int port, double seconds)
{
    int segment = SEGMENT;
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    int fd = buffered_socket(0, 16 << 20);
    char *pool = aligned_alloc(4096, POOL);
    char *headers = aligned_alloc(4096, 4096);
    char *staging = aligned_alloc(4096, 8 * 65536);
    struct iovec iovecs[2 * SEGMENTS];
    size_t offset = 0;
    long bytes = 0;
    long sends = 0;
    int gathered = !strcmp(mode, "gathered");
    int copied = !strcmp(mode, "copied");
    if (!gathered && !copied && strcmp(mode, "contiguous"))
    {
        fprintf(stderr, "mode: gathered, copied or contiguous\n");
        return 2;
    }
    inet_pton(AF_INET, ip, &to.sin_addr);
    memset(pool, 1, POOL);
    memset(headers, 2, 4096);
    memset(staging, 3, 8 * 65536);
    setsockopt(fd, IPPROTO_UDP, UDP_SEGMENT, &segment, sizeof segment);
    if (connect(fd, (const struct sockaddr *)&to, sizeof to))
    {
        fail("connect");
    }
    double start = now();
    double cpu = cpu_seconds();
    while (now() - start < seconds)
    {
        struct msghdr message = { .msg_iov = iovecs };
        char *buffer = staging + (sends % 8) * 65536;
        for (int k = 0; k < SEGMENTS && (gathered || copied); k++)
        {
            char *header = headers + 64 * (k % 64);
            if (offset + PAYLOAD > POOL)
            {
                offset = 0;
            }
            if (gathered)
            {
                iovecs[2 * k] = (struct iovec){ header, HEADER };
                iovecs[2 * k + 1] = (struct iovec){ pool + offset, PAYLOAD };
            }
            else
            {
                memcpy(buffer + k * SEGMENT, header, HEADER);
                memcpy(buffer + k * SEGMENT + HEADER, pool + offset, PAYLOAD);
            }
            offset += PAYLOAD;
        }
        if (gathered)
        {
            message.msg_iovlen = 2 * SEGMENTS;
        }
        else
        {
            iovecs[0] = (struct iovec){ buffer, SEGMENT * SEGMENTS };
            message.msg_iovlen = 1;
        }
        if (sendmsg(fd, &message, 0) > 0)
        {
            bytes += SEGMENT * SEGMENTS;
            sends++;
        }
    }
    double elapsed = now() - start;
    printf("%-10s %6.2f Gb/s  %.3f CPU s/GB\n", mode, bytes * 8 / elapsed / 1e9, (cpu_seconds() - cpu) / (bytes / 1e9));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "receive"))
    {
        return receive(atoi(argv[2]));
    }
    if (argc == 6 && !strcmp(argv[1], "send"))
    {
        return send_for(argv[2], argv[3], atoi(argv[4]), atof(argv[5]));
    }
    fprintf(stderr, "usage: %s receive PORT | send gathered|copied|contiguous IPV4 PORT SECONDS\n", argv[0]);
    return 2;
}
