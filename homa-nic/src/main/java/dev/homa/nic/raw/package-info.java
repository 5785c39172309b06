/**
 * Raw Ethernet driver: Homa straight onto a Linux NIC through an {@code AF_PACKET} socket driven by the FFM API
 * ({@code java.lang.foreign}; no JNI, no native build step), with the Homa priority in every frame's 802.1Q PCP.
 * <p>
 * Select it with {@code RawEthernetDriver.fromUri("raw://eth0?rate=25g")} (options in
 * {@link dev.homa.nic.raw.RawEthernetDriver#fromUri(String)}). Design in brief:
 * <ul>
 *   <li><b>Frames</b>: Ethernet, 802.1Q tag with VID 0 and PCP in 802.1p order (level 0 -> PCP 1, 1 -> 0, n -> n),
 *   IPv4 protocol 146 with header checksum and the level also as DSCP class selector, then the Homa bytes. Written
 *   by {@link dev.homa.nic.frame.HomaFrameWriter} into headroom in front of each pool slot.</li>
 *   <li><b>Transmit</b>: one {@code sendmmsg} per {@code flush()} (a plain {@code send} for a one-frame flush),
 *   iovecs pointing at the pool, with {@code PACKET_QDISC_BYPASS}. Chosen over a {@code TPACKET_V2} TX ring: the
 *   same one syscall per batch, no extra copy into the ring, no per-frame status hand-shake, errors reported per
 *   message.</li>
 *   <li><b>Receive</b>: a memory-mapped ring ({@link dev.homa.nic.raw.ReceiveRing}), {@code TPACKET_V2} by
 *   default (each frame visible at once) or {@code TPACKET_V3} blocks (fewer hand-overs, but a block waits for a
 *   retire timer of at least 1 ms on an idle link). The kernel
 *   strips the 802.1Q tag into the ring header ({@code tp_vlan_tci}, {@code TP_STATUS_VLAN_VALID}); the driver
 *   recovers the PCP there. A BPF filter admits only Homa (IPv4/146, or TCP hijacked by Homa) for the driver's own
 *   ports; the driver then drops, and counts, frames for another MAC or IP, with a bad checksum, truncated or
 *   fragmented. {@code PACKET_FANOUT} lets one driver per receive thread share a NIC.</li>
 *   <li><b>Ports</b>: the drivers of several processes on one interface share its Homa ports through a table
 *   under {@code /dev/shm} (a lock per port, dropped by the kernel when its holder exits; the last driver to close
 *   removes the table); one of them also takes the packets for ports nobody holds, to answer them with ICMP port
 *   unreachable.</li>
 *   <li><b>Idle</b>: a protocol thread with nothing to do sleeps in {@code ppoll} on the packet socket, readable
 *   while a frame waits in the ring.</li>
 *   <li><b>Neighbours</b>: MACs from the kernel's neighbour table over rtnetlink, reloaded every second; a miss
 *   asks the kernel to ARP ({@code NTF_USE}) and drops the packet (Homa retransmits); STALE entries in use are
 *   re-armed so the kernel re-probes them.</li>
 *   <li><b>ICMP</b>: the kernel sees our frames too and would answer each with "protocol unreachable". A raw IPv4
 *   socket for protocol 146 with a drop-all filter makes the kernel consider the packet delivered, so it sends no
 *   ICMP; no firewall rules or sysctls are touched.</li>
 *   <li><b>Namespaces</b>: {@code netns=NAME} opens every socket from a thread that entered the namespace with
 *   {@code setns(2)}; the sockets keep it, so the driver is then used from any thread.</li>
 *   <li><b>Permissions</b>: CAP_NET_RAW (the open fails with a message naming it otherwise) and CAP_NET_ADMIN for
 *   ARP requests and a forced send buffer.</li>
 * </ul>
 * Steady-state send, flush, poll and release allocate nothing: pool, ring and message vectors are preallocated,
 * poll makes no system call and the hot sendmmsg downcall takes only primitives (errno is captured only when a
 * call failed, by repeating it through a capturing handle: safe, since a failed sendmmsg took nothing).
 */
package dev.homa.nic.raw;
