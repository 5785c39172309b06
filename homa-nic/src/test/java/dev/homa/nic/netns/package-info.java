/**
 * Test support: throwaway network namespaces joined by veth pairs, and running code inside a namespace.
 */
package dev.homa.nic.netns;
