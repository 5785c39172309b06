/**
 * Network priorities chosen by the receiver: unscheduled cutoffs computed from recent traffic, scheduled levels.
 */
package dev.homa.core.priority;
