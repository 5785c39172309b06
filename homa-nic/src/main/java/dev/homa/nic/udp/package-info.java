/**
 * UDP driver: Homa packets as UDP/IPv4 payloads on Netty's epoll event loop, run by the protocol thread itself
 * (Netty 4.2 {@code ManualIoEventLoop}); {@code sendmmsg}/{@code recvmmsg} batches, UDP GSO and GRO, and the
 * priority as DSCP class selector and {@code SO_PRIORITY} on one socket per level, recovered on receive by a
 * reuseport BPF program that steers each datagram to the socket of its TOS class.
 */
package dev.homa.nic.udp;
