/*
 * What the C floor programs beside this file share: the clocks, failing on an error, and the loopback socket a
 * server binds. Each program still builds with one gcc command (the include is found beside the source).
 */
#ifndef HOMA_TOOLS_FLOOR_H
#define HOMA_TOOLS_FLOOR_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* User and system CPU seconds of this process so far. */
static double cpu_seconds(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return r.ru_utime.tv_sec + r.ru_utime.tv_usec * 1e-6 + r.ru_stime.tv_sec + r.ru_stime.tv_usec * 1e-6;
}

static void fail(const char *what)
{
    perror(what);
    exit(1);
}

/* 127.0.0.1 at a port. */
static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    address.sin_addr.s_addr = htonl(0x7f000001);
    return address;
}

/* A UDP or TCP socket with both socket buffers forced to buffer_bytes (root). */
static int buffered_socket(int tcp, int buffer_bytes)
{
    int fd = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer_bytes, sizeof buffer_bytes);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buffer_bytes, sizeof buffer_bytes);
    return fd;
}

/* A buffered_socket bound at an address, listening with the backlog given if TCP. */
static int bound_socket(int tcp, const struct sockaddr_in *at, int buffer_bytes, int backlog)
{
    int one = 1;
    int fd = buffered_socket(tcp, buffer_bytes);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)at, sizeof *at))
    {
        fail("bind");
    }
    if (tcp)
    {
        listen(fd, backlog);
    }
    return fd;
}

#endif
