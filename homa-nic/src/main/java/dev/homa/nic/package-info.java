/**
 * The driver SPI: {@link dev.homa.nic.NicDriver}, the pooled {@link dev.homa.nic.Packet}, allocation-free
 * {@link dev.homa.nic.HostAddress} encoding and the {@link dev.homa.nic.NicQueueEstimator} behind the pacer.
 */
package dev.homa.nic;
