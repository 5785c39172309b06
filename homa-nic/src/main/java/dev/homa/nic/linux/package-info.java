/**
 * The Linux layer the drivers share (not exported): network devices, and the system calls, message-header layouts,
 * namespaces and socket filters they bind to through the FFM API.
 */
package dev.homa.nic.linux;
