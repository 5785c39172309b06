/**
 * Frame formats a Homa packet wears on the wire: Ethernet II, the 802.1Q tag carrying the priority as PCP, IPv4
 * (protocol 146, header checksum), the priority mappings to PCP and DSCP, and the writer and reader a raw Ethernet
 * driver uses to put those headers in front of the Homa bytes and take them off again.
 */
package dev.homa.nic.frame;
