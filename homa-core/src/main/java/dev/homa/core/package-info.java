/**
 * The application API ({@link dev.homa.core.HomaTransport}, {@link dev.homa.core.HomaSocket},
 * {@link dev.homa.core.HomaMessage} and the exceptions) and, beside it, the single-threaded protocol engine, whose
 * classes are package-private: nothing of the engine is reachable from outside the package.
 * <p>
 * {@code HomaEngine} is an Agrona agent whose duty cycle drains application commands, polls the driver, runs the
 * 1 ms timer and paces DATA out in SRPT order. It wires small single-job collaborators, all on the protocol thread,
 * named after the kernel module's files: sending ({@code PacketTransmitter}, {@code DataSender},
 * {@code ControlSender}, {@code SrptQueue}, {@code Pacer}), receiving ({@code PacketDispatcher},
 * {@code DataReceiver}, {@code ControlReceiver}, {@code AckManager}), timers ({@code RpcTimer},
 * {@code ResendRequester}), life cycle ({@code RpcTable}, {@code InboundAllocator}, {@code MessageDelivery}) and
 * commands ({@code CommandHandler}); the other classes are pooled state: RPCs, outbound and inbound messages, peers
 * and the off-heap page pools.
 */
package dev.homa.core;
