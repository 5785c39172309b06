/**
 * The layer the drivers share (not exported): the packet pool every driver draws from, network devices, and the Linux
 * system calls, message-header layouts, namespaces and socket filters they bind to through the FFM API.
 */
package dev.homa.nic.linux;
