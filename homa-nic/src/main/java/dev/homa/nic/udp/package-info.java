/**
 * UDP driver: Netty epoll with recvmmsg/sendmmsg, the priority carried as DSCP.
 */
package dev.homa.nic.udp;
