/**
 * Receiver-driven flow control: the grant scheduler (SRPT, overcommitment, incoming budget, scheduled priorities,
 * FIFO grants), with HomaModule's semantics (protocol.md section 4).
 * <p>
 * The engine's inbound message implements {@link dev.homa.core.grant.Grantable} and embeds a
 * {@link dev.homa.core.grant.GrantState}; the {@link dev.homa.core.grant.GrantScheduler} links those states into
 * intrusive lists, so scheduling allocates nothing per packet or grant. The engine reports events
 * ({@code add}, {@code onDataReceived}, {@code remove}), then calls {@code sendGrants(nowNs, sender)} once per batch;
 * each due GRANT comes back through {@link dev.homa.core.grant.GrantSender}. Pure logic: no clock, no I/O.
 */
package dev.homa.core.grant;
