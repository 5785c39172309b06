package dev.homa.bench.load;

/**
 * How the TCP peers carry load messages: each message behind a 4-byte big-endian length, requests and responses
 * alike, so a response can be the request's own bytes. A connection carries RPCs in order: a server answers the
 * requests of one connection in the order they came, as HTTP/1.1 pipelining or a single gRPC connection's stream
 * of frames does.
 */
final class TcpFraming
{
    /** Bytes of the length prefix. */
    static final int PREFIX_LENGTH = 4;
    /** Largest frame accepted: the largest message. */
    static final int MAX_MESSAGE = MessageSizes.MAX_LENGTH;

    private TcpFraming()
    {
    }
}
