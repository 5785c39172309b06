/**
 * Virtual time: a hand-advanced {@link dev.homa.nic.time.VirtualClock} and a deterministic
 * {@link dev.homa.nic.time.VirtualTimeScheduler} that tests and the simulator step event by event.
 */
package dev.homa.nic.time;
