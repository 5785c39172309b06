/**
 * Homa protocol engine: wire format, RPC state machines, grants, SRPT, priorities, timers and the
 * homaSend / homaRecv / homaReply API.
 */
module dev.homa.core
{
    requires transitive dev.homa.nic;
    requires transitive org.agrona;
    requires org.jctools.core;
    requires org.slf4j;

    exports dev.homa.core;

    exports dev.homa.core.wire;

    exports dev.homa.core.grant;

    exports dev.homa.core.priority;

    exports dev.homa.core.workload;

    exports dev.homa.core.metrics;
}
