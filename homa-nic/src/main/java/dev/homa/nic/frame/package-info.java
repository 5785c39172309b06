/**
 * Frame formats a Homa packet wears on the wire: Ethernet II, the 802.1Q tag carrying the priority as PCP, IPv4 (protocol 146), and the priority mappings to PCP and DSCP.
 */
package dev.homa.nic.frame;
