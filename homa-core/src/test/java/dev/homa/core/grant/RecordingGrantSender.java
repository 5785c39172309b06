package dev.homa.core.grant;

import java.util.ArrayList;
import java.util.List;

/**
 * Captures every grant the scheduler emits, in order.
 */
final class RecordingGrantSender implements GrantSender
{
    record Grant(TestMessage message, int offset, int priority)
    {
    }

    final List<Grant> grants = new ArrayList<>();

    public void sendGrant(final Grantable message, final int grantOffset, final int priority)
    {
        grants.add(new Grant((TestMessage)message, grantOffset, priority));
    }

    List<Grant> drain()
    {
        final List<Grant> copy = new ArrayList<>(grants);
        grants.clear();
        return copy;
    }
}
