/**
 * Packet capture: a pcap writer with nanosecond timestamps, and a driver decorator that records the frames of any
 * driver exactly as they would be on raw Ethernet (Ethernet + 802.1Q + IPv4 + Homa), for Wireshark with
 * {@code docs/wireshark/homa.lua}.
 */
package dev.homa.nic.capture;
