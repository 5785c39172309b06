/**
 * Internal: the single-threaded Homa protocol engine (not exported). {@link dev.homa.core.engine.HomaEngine} is an
 * Agrona agent whose duty cycle drains application commands, polls the driver, runs the 1 ms timer and paces
 * DATA out in SRPT order. It wires small single-job collaborators, all on the protocol thread: sending
 * ({@code PacketTransmitter}, {@code DataSender}, {@code ControlSender}, {@code SrptQueue}, {@code Pacer}),
 * receiving ({@code PacketDispatcher}, {@code DataReceiver}, {@code ControlReceiver}, {@code AckManager}), timers
 * ({@code RpcTimer}, {@code ResendRequester}), life cycle ({@code RpcTable}, {@code InboundAllocator},
 * {@code MessageDelivery}) and commands ({@code CommandHandler}); the other classes are pooled state: RPCs,
 * outbound and inbound messages, peers and the off-heap page pools.
 */
package dev.homa.core.engine;
