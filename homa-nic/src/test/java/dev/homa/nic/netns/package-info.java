/**
 * Test support that knows Homa: tshark captures of IPv4 protocol 146 inside a namespace, read with the project's
 * Lua dissector.
 */
package dev.homa.nic.netns;
