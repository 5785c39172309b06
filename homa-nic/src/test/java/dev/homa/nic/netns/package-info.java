/**
 * Test support that knows Homa: the way into a namespace that {@link dev.homa.test.NetnsPair} uses (the drivers'
 * {@code setns(2)} binding), a device's checksum offload, and tshark captures of IPv4 protocol 146 inside a namespace,
 * read with the project's Lua dissector.
 */
package dev.homa.nic.netns;
