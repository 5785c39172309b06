/**
 * Raw Ethernet driver: Linux AF_PACKET through the FFM API, 802.1Q priority tags, memory-mapped rings.
 */
package dev.homa.nic.raw;
