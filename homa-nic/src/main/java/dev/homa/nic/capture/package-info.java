/**
 * Packet capture: a pcap writer with nanosecond timestamps that records frames exactly as on raw Ethernet, from any driver.
 */
package dev.homa.nic.capture;
