package dev.homa.core.grant;

/**
 * Minimal {@link Grantable} for tests: an incoming message whose received bytes the test advances.
 */
final class TestMessage implements Grantable
{
    final long peer;
    final int length;
    final long birth;
    final GrantState state = new GrantState();
    final boolean needsGrants;
    int received;

    TestMessage(final long peer, final int length, final long birth, final int unscheduledBytes)
    {
        this.peer = peer;
        this.length = length;
        this.birth = birth;
        state.reset(Math.min(unscheduledBytes, length));
        this.needsGrants = length > unscheduledBytes;
    }

    public long peer()
    {
        return peer;
    }

    public int messageLength()
    {
        return length;
    }

    public int bytesReceived()
    {
        return received;
    }

    public long birthOrder()
    {
        return birth;
    }

    public GrantState grantState()
    {
        return state;
    }

    boolean complete()
    {
        return received >= length;
    }

    int outstanding()
    {
        return Math.max(0, state.grantedOffset() - received);
    }

    public String toString()
    {
        return "msg(peer=" + peer + ", len=" + length + ", birth=" + birth + ", recv=" + received +
            ", granted=" + state.grantedOffset() + ")";
    }
}
