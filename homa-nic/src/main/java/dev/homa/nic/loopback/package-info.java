/**
 * The in-memory fabric: many hosts in one JVM, instant or timed in virtual time, with strict-priority switch ports and seeded faults.
 */
package dev.homa.nic.loopback;
