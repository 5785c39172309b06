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

    // The API, the wire format, the counters and the workloads. The engine is package-private in dev.homa.core;
    // grant and priority are its building blocks and stay inside the module.
    exports dev.homa.core;
    exports dev.homa.core.wire;
    exports dev.homa.core.metrics;
    exports dev.homa.core.workload;
}
