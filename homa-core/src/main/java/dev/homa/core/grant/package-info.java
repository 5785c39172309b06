/**
 * Receiver-driven flow control: the grant scheduler (SRPT, overcommitment, FIFO grants).
 */
package dev.homa.core.grant;
