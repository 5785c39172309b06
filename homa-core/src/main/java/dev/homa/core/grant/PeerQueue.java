package dev.homa.core.grant;

/**
 * The grantable messages of one sending peer, in SRPT order, and a link in the scheduler's list of peers ordered by
 * their best message. Pooled by the scheduler; one per peer that currently has grantable messages.
 */
final class PeerQueue
{
    long peer;
    GrantState first;
    GrantState last;
    PeerQueue prev;
    PeerQueue next;
    int selected;
    int size;

    void clear()
    {
        peer = 0;
        first = null;
        last = null;
        prev = null;
        next = null;
        selected = 0;
        size = 0;
    }
}
