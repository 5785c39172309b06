/**
 * End-to-end tests of the protocol engine over the raw Ethernet driver, between JVMs in network namespaces.
 */
package dev.homa.core.raw;
