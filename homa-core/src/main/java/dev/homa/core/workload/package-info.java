/**
 * Message-size workloads (the SIGCOMM paper's W1-W5 CDFs) for tests, benchmarks and demos.
 */
package dev.homa.core.workload;
