/**
 * Network priorities chosen by the receiver (protocol.md section 5, paper section 3.4).
 * <ul>
 * <li>{@link dev.homa.core.priority.Cutoffs}: a versioned set of unscheduled cutoffs, kept by a receiver for itself
 * and by a sender per peer (kernel defaults, unknown-peer defaults).</li>
 * <li>{@link dev.homa.core.priority.CutoffCalculator}: derives cutoffs from recently received message sizes so each
 * unscheduled level carries equal bytes, and splits levels between unscheduled and scheduled traffic by the
 * unscheduled share of bytes.</li>
 * <li>{@link dev.homa.core.priority.ScheduledPriorities}: the level of each actively granted message.</li>
 * </ul>
 */
package dev.homa.core.priority;
