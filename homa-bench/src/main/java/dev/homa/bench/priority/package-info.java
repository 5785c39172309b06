/**
 * JMH benchmarks of the unscheduled-priority machinery.
 */
package dev.homa.bench.priority;
