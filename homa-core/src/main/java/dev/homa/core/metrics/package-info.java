/**
 * Protocol counters after the kernel's {@code homa_metrics}: one writer (the protocol thread), any number of
 * readers taking {@link dev.homa.core.metrics.MetricsSnapshot}s, and a printer for humans.
 */
package dev.homa.core.metrics;
