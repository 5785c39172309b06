/**
 * The Homa wire format, byte for byte the Linux kernel module's: flyweights per packet type and a validating decoder.
 */
package dev.homa.core.wire;
