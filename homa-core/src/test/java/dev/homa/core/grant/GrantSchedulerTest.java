package dev.homa.core.grant;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import dev.homa.core.metrics.HomaMetrics;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class GrantSchedulerTest
{
    private static final int PAYLOAD = 1400;
    private static final int UNSCHED = 10 * PAYLOAD;

    private final RecordingGrantSender sender = new RecordingGrantSender();

    /**
     * The kernel's grant settings (the transport context's defaults) on a 25 Gbit/s link, without FIFO grants.
     */
    private static GrantConfig config()
    {
        return new GrantConfig()
            .overcommit(8)
            .maxIncomingBytes(400_000)
            .windowBytes(0)
            .maxPacketPayload(PAYLOAD)
            .maxScheduledPriority(3)
            .maxActivePerPeer(1)
            .fifoGrantFractionPerMille(0)
            .fifoGrantIncrement(50_000)
            .linkBitsPerSecond(25_000_000_000L);
    }

    private static TestMessage arrived(final long peer, final int length, final long birth)
    {
        final TestMessage message = new TestMessage(peer, length, birth, UNSCHED);
        message.received = Math.min(UNSCHED, length);
        return message;
    }

    @Test
    void shouldGrantInSrptOrderWithFiveMessages()
    {
        final GrantScheduler scheduler = new GrantScheduler(config());
        final int[] sizes = { 500_000, 100_000, 400_000, 200_000, 300_000 };
        final TestMessage[] messages = new TestMessage[sizes.length];
        for (int i = 0; i < sizes.length; i++)
        {
            messages[i] = arrived(i + 1, sizes[i], i);
            scheduler.add(messages[i]);
        }

        assertEquals(5, scheduler.sendGrants(0, sender));
        final List<RecordingGrantSender.Grant> grants = sender.drain();
        final int[] expectedSizes = { 100_000, 200_000, 300_000, 400_000, 500_000 };
        final int[] expectedLevels = { 3, 2, 1, 0, 0 };
        for (int i = 0; i < 5; i++)
        {
            assertEquals(expectedSizes[i], grants.get(i).message().length, "grant " + i);
            assertEquals(expectedLevels[i], grants.get(i).priority(), "grant " + i);
            assertSame(grants.get(i).message(), scheduler.activeMessage(i));
        }
        assertEquals(5, scheduler.activeCount());
    }

    @Test
    void shouldGrantOneAtATimeAndCompleteInSizeOrderWithOvercommitOne()
    {
        final GrantScheduler scheduler = new GrantScheduler(config().overcommit(1));
        final int[] sizes = { 300_000, 100_000, 500_000, 200_000, 400_000 };
        final List<TestMessage> messages = new ArrayList<>();
        for (int i = 0; i < sizes.length; i++)
        {
            final TestMessage message = arrived(i + 1, sizes[i], i);
            messages.add(message);
            scheduler.add(message);
        }

        // A FIFO "wire": granted ranges are sent by their senders and arrive in grant order, one packet per step.
        final ArrayDeque<TestMessage> wire = new ArrayDeque<>();
        final List<TestMessage> grantOrder = new ArrayList<>();
        final List<TestMessage> completionOrder = new ArrayList<>();
        final Map<TestMessage, Integer> sentUpTo = new HashMap<>();
        messages.forEach((m) -> sentUpTo.put(m, m.received));

        int steps = 0;
        while (completionOrder.size() < messages.size())
        {
            scheduler.sendGrants(0, sender);
            for (final RecordingGrantSender.Grant grant : sender.drain())
            {
                final TestMessage message = grant.message();
                if (grantOrder.isEmpty() || grantOrder.get(grantOrder.size() - 1) != message)
                {
                    assertFalse(grantOrder.contains(message), "grants to " + message + " resumed after another's");
                    grantOrder.add(message);
                }
                assertTrue(scheduler.activeCount() <= 1);
                for (int offset = sentUpTo.get(message); offset < grant.offset(); offset += PAYLOAD)
                {
                    wire.add(message);
                }
                sentUpTo.put(message, grant.offset());
            }

            final TestMessage next = wire.poll();
            if (null == next)
            {
                fail("link idle with incomplete messages: " + messages);
            }
            next.received = Math.min(next.length, next.received + PAYLOAD);
            scheduler.onDataReceived(next);
            if (next.complete())
            {
                completionOrder.add(next);
                scheduler.remove(next);
            }
            assertTrue(++steps < 10_000, "no progress");
        }

        final int[] expected = { 100_000, 200_000, 300_000, 400_000, 500_000 };
        for (int i = 0; i < expected.length; i++)
        {
            assertEquals(expected[i], grantOrder.get(i).length, "grant order " + i);
            assertEquals(expected[i], completionOrder.get(i).length, "completion order " + i);
        }
        assertEquals(0, scheduler.incomingBytes());
        assertEquals(0, scheduler.trackedCount());
    }

    @Test
    void shouldNeverHaveMoreThanOvercommitMessagesBeingGrantedWithOutstandingGrants()
    {
        final int[] max = overcommitRun(false);
        // Current kernel: a message keeps its slot until fully received, so at most K messages hold grants.
        assertEquals(4, max[0]);
        assertEquals(4, max[1], "at most K messages hold undelivered grants at any step");
    }

    @Test
    void shouldNeverHaveMoreThanOvercommitMessagesWithOutstandingGrantsInStrictMode()
    {
        final int[] max = overcommitRun(true);
        assertEquals(4, max[0]);
        assertEquals(4, max[1], "strict: at most K messages hold undelivered grants at any step");
    }

    /**
     * 8 messages of 1,000,000 bytes from 8 peers, K = 4, slow senders (one packet of a random granted message per
     * step). Returns {max messages still being granted that hold outstanding grants, max messages holding outstanding
     * grants of any kind}.
     */
    private int[] overcommitRun(final boolean strict)
    {
        final long seed = Long.getLong("homa.seed", 42L);
        System.out.println("seed=" + seed);
        final Random random = new Random(seed);
        final int k = 4;
        final GrantScheduler scheduler = new GrantScheduler(config().overcommit(k).strictOvercommit(strict));
        final List<TestMessage> messages = new ArrayList<>();
        for (int i = 0; i < 8; i++)
        {
            final TestMessage message = arrived(100 + i, 1_000_000, i);
            messages.add(message);
            scheduler.add(message);
        }

        int maxGrantable = 0;
        int maxAll = 0;
        int completed = 0;
        final List<TestMessage> sending = new ArrayList<>();
        while (completed < messages.size())
        {
            scheduler.sendGrants(0, sender);
            sender.drain();
            assertTrue(scheduler.activeCount() <= k);

            sending.clear();
            int grantable = 0;
            for (final TestMessage message : messages)
            {
                if (message.outstanding() > 0)
                {
                    sending.add(message);
                    if (message.state.isGrantable())
                    {
                        grantable++;
                    }
                }
            }
            assertTrue(grantable <= k, "outstanding grants to " + grantable + " messages: " + messages);
            maxGrantable = Math.max(maxGrantable, grantable);
            maxAll = Math.max(maxAll, sending.size());
            assertEquals(sending.size(), scheduler.grantHolders());
            assertFalse(sending.isEmpty(), "link idle: " + messages);

            final TestMessage next = sending.get(random.nextInt(sending.size()));
            next.received = Math.min(next.length, next.received + PAYLOAD);
            scheduler.onDataReceived(next);
            if (next.complete())
            {
                completed++;
                scheduler.remove(next);
            }
        }

        System.out.println("strict=" + strict + " K=" + k + " max being granted with outstanding grants=" +
            maxGrantable + " max holding outstanding grants=" + maxAll);
        assertEquals(0, scheduler.demotions());
        assertEquals(0, scheduler.incomingBytes());
        assertEquals(0, scheduler.grantHolders());
        return new int[]{ maxGrantable, maxAll };
    }

    @Test
    void shouldPreferOneActiveMessagePerPeer()
    {
        final GrantScheduler scheduler = new GrantScheduler(config().overcommit(3).windowBytes(50_400));
        final TestMessage a1 = arrived(1, 100_000, 0);
        final TestMessage a2 = arrived(1, 110_000, 1);
        final TestMessage a3 = arrived(1, 120_000, 2);
        final TestMessage b = arrived(2, 500_000, 3);
        final TestMessage c = arrived(3, 600_000, 4);
        for (final TestMessage m : List.of(a1, a2, a3, b, c))
        {
            scheduler.add(m);
        }

        scheduler.sendGrants(0, sender);
        assertEquals(3, scheduler.activeCount());
        assertSame(a1, scheduler.activeMessage(0));
        assertSame(b, scheduler.activeMessage(1));
        assertSame(c, scheduler.activeMessage(2));
        assertEquals(UNSCHED, a2.state.grantedOffset(), "other messages of a busy peer wait");
        assertEquals(UNSCHED, a3.state.grantedOffset());

        // With only one peer left the preference no longer leaves slots empty: its other messages fill them.
        scheduler.remove(b);
        scheduler.remove(c);
        scheduler.sendGrants(0, sender);
        assertEquals(3, scheduler.activeCount());
        assertSame(a1, scheduler.activeMessage(0));
        assertSame(a2, scheduler.activeMessage(1));
        assertSame(a3, scheduler.activeMessage(2));
        assertTrue(a3.state.grantedOffset() > UNSCHED);

        // A new peer's message takes a slot back from the peer that has several.
        final TestMessage d = arrived(4, 700_000, 5);
        scheduler.add(d);
        scheduler.sendGrants(0, sender);
        assertTrue(d.state.isActive());
        assertFalse(a3.state.isActive());
        assertEquals(1, scheduler.demotions());
    }

    @Test
    void shouldPickTheBestPeerQueueWhenSeveralPeersHaveManyMessages()
    {
        final GrantScheduler scheduler =
            new GrantScheduler(config().overcommit(2).maxActivePerPeer(2).windowBytes(50_400));
        final TestMessage a1 = arrived(1, 100_000, 0);
        final TestMessage a2 = arrived(1, 200_000, 1);
        final TestMessage a3 = arrived(1, 300_000, 2);
        final TestMessage b1 = arrived(2, 150_000, 3);
        for (final TestMessage m : List.of(a3, b1, a2, a1))
        {
            scheduler.add(m);
        }

        scheduler.sendGrants(0, sender);
        assertSame(a1, scheduler.activeMessage(0));
        assertSame(b1, scheduler.activeMessage(1));

        // a2 overtakes b1 (not a1) once it has received enough.
        a2.received = 70_000;
        scheduler.onDataReceived(a2);
        scheduler.sendGrants(0, sender);
        assertSame(a1, scheduler.activeMessage(0));
        assertSame(a2, scheduler.activeMessage(1));
    }

    @Test
    void shouldUseDynamicWindow()
    {
        final GrantScheduler scheduler = new GrantScheduler(config().maxIncomingBytes(400_000));
        final TestMessage m1 = arrived(1, 1_000_000, 0);
        final TestMessage m2 = arrived(2, 1_000_001, 1);
        final TestMessage m3 = arrived(3, 1_000_002, 2);
        scheduler.add(m1);
        scheduler.add(m2);
        scheduler.add(m3);
        assertEquals(3, scheduler.sendGrants(0, sender));
        // Three active: window = 400,000 / 4 = 100,000, rounded up to whole packets.
        final int threeActive = roundUp(UNSCHED + 100_000);
        assertEquals(threeActive, m1.state.grantedOffset());
        assertEquals(threeActive, m2.state.grantedOffset());
        assertEquals(threeActive, m3.state.grantedOffset());
        assertEquals(3 * (threeActive - UNSCHED), scheduler.incomingBytes());

        // One active: window = 400,000 / 2.
        scheduler.remove(m2);
        scheduler.remove(m3);
        scheduler.sendGrants(0, sender);
        final int oneActive = roundUp(UNSCHED + 200_000);
        assertEquals(oneActive, m1.state.grantedOffset());

        // Two shorter newcomers: window back to 100,000; m1 keeps its larger grant (never lowered) and its bytes on
        // the way leave only part of a window for the second newcomer.
        final TestMessage m4 = arrived(4, 500_000, 3);
        final TestMessage m5 = arrived(5, 600_000, 4);
        scheduler.add(m4);
        scheduler.add(m5);
        sender.drain();
        assertEquals(2, scheduler.sendGrants(0, sender));
        assertEquals(oneActive, m1.state.grantedOffset());
        assertEquals(threeActive, m4.state.grantedOffset());
        final int budgetLeft = 400_000 - (oneActive - UNSCHED) - (threeActive - UNSCHED);
        assertEquals(roundUp(UNSCHED + budgetLeft), m5.state.grantedOffset());
        assertEquals(1, scheduler.budgetLimitedGrants());
        assertEquals(List.of(m4, m5), sender.drain().stream().map(RecordingGrantSender.Grant::message).toList());
    }

    @Test
    void shouldWidenTheBudgetOnlyWhileNoShortMessageArrives()
    {
        final HomaMetrics metrics = new HomaMetrics();
        final GrantScheduler scheduler = new GrantScheduler(config().bulkIncomingBytes(1_200_000), metrics);
        final TestMessage m1 = arrived(1, 3_000_000, 0);
        final TestMessage m2 = arrived(2, 3_000_001, 1);
        scheduler.add(m1);
        scheduler.add(m2);
        // No short message has come: two active share the bulk budget, a window of 1,200,000 / 3 each.
        assertEquals(2, scheduler.sendGrants(0, sender));
        assertEquals(roundUp(UNSCHED + 400_000), m1.state.grantedOffset());
        assertEquals(roundUp(UNSCHED + 400_000), m2.state.grantedOffset());
        assertEquals(1, metrics.get(HomaMetrics.INCOMING_BUDGET_WIDENED));

        // A short message arrives: the budget is narrow at once and for the hold after it, 400,000 / 3 a window.
        final long shortNs = 5_000_000;
        scheduler.onShortMessage(shortNs);
        for (final long nowNs : new long[] { shortNs, shortNs + GrantConfig.SHORT_MESSAGE_HOLD_NS - 1 })
        {
            receiveAllGranted(scheduler, m1, m2);
            assertEquals(2, scheduler.sendGrants(nowNs, sender));
            assertEquals(roundUp(m1.received + 400_000 / 3), m1.state.grantedOffset(), "narrow at " + nowNs);
            assertEquals(roundUp(m2.received + 400_000 / 3), m2.state.grantedOffset(), "narrow at " + nowNs);
        }

        // The hold has passed with no other short message: wide again.
        receiveAllGranted(scheduler, m1, m2);
        assertEquals(2, scheduler.sendGrants(shortNs + GrantConfig.SHORT_MESSAGE_HOLD_NS, sender));
        assertEquals(roundUp(m1.received + 400_000), m1.state.grantedOffset());
        assertEquals(2, metrics.get(HomaMetrics.INCOMING_BUDGET_WIDENED));
    }

    private static void receiveAllGranted(final GrantScheduler scheduler, final TestMessage... messages)
    {
        for (final TestMessage message : messages)
        {
            message.received = message.state.grantedOffset();
            scheduler.onDataReceived(message);
        }
    }

    @Test
    void shouldRespectMaxIncomingBudget()
    {
        final GrantScheduler scheduler = new GrantScheduler(config().maxIncomingBytes(400_000).windowBytes(300_000));
        final TestMessage m1 = arrived(1, 1_000_000, 0);
        final TestMessage m2 = arrived(2, 1_000_001, 1);
        final TestMessage m3 = arrived(3, 1_000_002, 2);
        scheduler.add(m1);
        scheduler.add(m2);
        scheduler.add(m3);

        assertEquals(2, scheduler.sendGrants(0, sender));
        final int first = roundUp(UNSCHED + 300_000);
        assertEquals(first, m1.state.grantedOffset());
        final int second = roundUp(UNSCHED + 400_000 - (first - UNSCHED));
        assertEquals(second, m2.state.grantedOffset());
        assertEquals(UNSCHED, m3.state.grantedOffset(), "no budget left for the third");
        assertTrue(scheduler.incomingBytes() < 400_000 + PAYLOAD);
        assertEquals(1, scheduler.budgetLimitedGrants());

        // Budget frees as m1's data arrives: the shortest is topped up first and takes it all back.
        m1.received += 100_800;
        scheduler.onDataReceived(m1);
        scheduler.sendGrants(0, sender);
        assertEquals(roundUp(m1.received + 300_000), m1.state.grantedOffset());
        assertEquals(second, m2.state.grantedOffset());
        assertEquals(UNSCHED, m3.state.grantedOffset());
        assertTrue(scheduler.incomingBytes() < 400_000 + PAYLOAD, "incoming " + scheduler.incomingBytes());
    }

    @Test
    void shouldGrantTheShortestMessageItsWindowWhileOthersHoldTheBudget()
    {
        final GrantScheduler scheduler = new GrantScheduler(config().maxIncomingBytes(100_000).windowBytes(50_000));
        final TestMessage m1 = arrived(1, 1_000_000, 0);
        final TestMessage m2 = arrived(2, 1_000_001, 1);
        scheduler.add(m1);
        scheduler.add(m2);
        scheduler.sendGrants(0, sender);
        final int m1Granted = m1.state.grantedOffset();
        final int m2Granted = m2.state.grantedOffset();
        assertTrue(scheduler.incomingBytes() > 100_000 - PAYLOAD, "budget used up: " + scheduler.incomingBytes());

        // The senders of m1 and m2 send nothing more; a shorter message arrives. Its window does not wait for their
        // bytes: the budget is exceeded by at most that one window.
        final TestMessage m3 = arrived(3, 100_000, 2);
        scheduler.add(m3);
        sender.drain();
        scheduler.sendGrants(0, sender);
        assertEquals(roundUp(UNSCHED + 50_000), m3.state.grantedOffset());
        assertEquals(m1Granted, m1.state.grantedOffset());
        assertEquals(m2Granted, m2.state.grantedOffset());
        assertTrue(scheduler.incomingBytes() <= 100_000 + 50_000 + PAYLOAD, "incoming " + scheduler.incomingBytes());

        // Rank 1 and below still wait for the budget.
        final TestMessage m4 = arrived(4, 200_000, 3);
        scheduler.add(m4);
        sender.drain();
        scheduler.sendGrants(0, sender);
        assertEquals(UNSCHED, m4.state.grantedOffset());
    }

    @Test
    void shouldReleaseBudgetToTheNextMessageWhenDataArrives()
    {
        final GrantScheduler scheduler = new GrantScheduler(config().maxIncomingBytes(400_000).windowBytes(300_000));
        final TestMessage m1 = arrived(1, 1_000_000, 0);
        final TestMessage m2 = arrived(2, 1_000_001, 1);
        final TestMessage m3 = arrived(3, 1_000_002, 2);
        scheduler.add(m1);
        scheduler.add(m2);
        scheduler.add(m3);
        scheduler.sendGrants(0, sender);
        sender.drain();
        final int m1Granted = m1.state.grantedOffset();
        final int m2Granted = m2.state.grantedOffset();

        // m2 receives all that was granted to it: it now has fewer bytes left than m1, so it takes rank 0 and a
        // whole window, whatever m1 holds; m1 keeps its offset but is told its new (lower) level.
        m2.received = m2Granted;
        scheduler.onDataReceived(m2);
        scheduler.sendGrants(0, sender);
        final List<RecordingGrantSender.Grant> grants = sender.drain();
        assertEquals(2, grants.size());
        assertSame(m2, grants.get(0).message());
        assertEquals(roundUp(m2Granted + 300_000), grants.get(0).offset());
        assertEquals(2, grants.get(0).priority());
        assertSame(m1, grants.get(1).message());
        assertEquals(m1Granted, grants.get(1).offset());
        assertEquals(1, grants.get(1).priority());
        assertEquals(1, scheduler.priorityGrants());
        assertEquals(UNSCHED, m3.state.grantedOffset());

        // m1 completes entirely: its slot and budget go to m3.
        m1.received = m1.length;
        scheduler.onDataReceived(m1);
        scheduler.remove(m1);
        scheduler.sendGrants(0, sender);
        assertTrue(m3.state.grantedOffset() > UNSCHED);
        assertTrue(scheduler.incomingBytes() <= 400_000 + PAYLOAD);
    }

    @Test
    void shouldUseLowestScheduledLevelsForFewActiveMessages()
    {
        final GrantScheduler scheduler = new GrantScheduler(config().maxScheduledPriority(3).windowBytes(50_400));
        final TestMessage m1 = arrived(1, 500_000, 0);
        scheduler.add(m1);
        scheduler.sendGrants(0, sender);
        assertEquals(0, sender.drain().get(0).priority(), "1 active -> level 0");

        final TestMessage m2 = arrived(2, 100_000, 1);
        scheduler.add(m2);
        scheduler.sendGrants(0, sender);
        assertEquals(1, m2.state.priority(), "2 active -> shorter at level 1");
        assertEquals(0, m1.state.priority(), "2 active -> longer at level 0");

        for (int i = 0; i < 3; i++)
        {
            scheduler.add(arrived(3 + i, 200_000 + i * 100_000, 2 + i));
        }
        scheduler.sendGrants(0, sender);
        final int[] expected = { 3, 2, 1, 0, 0 };
        for (int rank = 0; rank < 5; rank++)
        {
            assertEquals(expected[rank], scheduler.activeMessage(rank).grantState().priority(), "rank " + rank);
        }
    }

    @Test
    void shouldSendPriorityOnlyGrantAtTheSameOffset()
    {
        final GrantScheduler scheduler = new GrantScheduler(config().windowBytes(100_800));
        final TestMessage a = arrived(1, 300_000, 0);
        final TestMessage b = arrived(2, 900_000, 1);
        scheduler.add(a);
        scheduler.add(b);
        scheduler.sendGrants(0, sender);
        assertEquals(1, a.state.priority());
        assertEquals(0, b.state.priority());
        final int aGranted = a.state.grantedOffset();
        sender.drain();

        // b goes away: a is alone and drops to level 0 although its window is full (nothing received since).
        scheduler.remove(b);
        assertEquals(1, scheduler.sendGrants(0, sender));
        final RecordingGrantSender.Grant grant = sender.drain().get(0);
        assertSame(a, grant.message());
        assertEquals(aGranted, grant.offset());
        assertEquals(0, grant.priority());
        assertEquals(1, scheduler.priorityGrants());
    }

    @Test
    void shouldRegrantWhenMaxScheduledPriorityChanges()
    {
        final GrantScheduler scheduler = new GrantScheduler(
            config().windowBytes(100_800).maxIncomingBytes(600_000).maxScheduledPriority(3));
        final TestMessage a = arrived(1, 300_000, 0);
        final TestMessage b = arrived(2, 400_000, 1);
        final TestMessage c = arrived(3, 500_000, 2);
        final TestMessage d = arrived(4, 600_000, 3);
        final TestMessage e = arrived(5, 700_000, 4);
        for (final TestMessage m : List.of(a, b, c, d, e))
        {
            scheduler.add(m);
        }
        scheduler.sendGrants(0, sender);
        assertEquals(List.of(3, 2, 1, 0, 0),
            sender.drain().stream().map(RecordingGrantSender.Grant::priority).toList());

        // New cutoffs leave five scheduled levels: every message that changes level is told, at the same offset.
        scheduler.maxScheduledPriority(4);
        scheduler.sendGrants(0, sender);
        final List<RecordingGrantSender.Grant> grants = sender.drain();
        assertEquals(List.of(a, b, c, d), grants.stream().map(RecordingGrantSender.Grant::message).toList());
        assertEquals(List.of(4, 3, 2, 1), grants.stream().map(RecordingGrantSender.Grant::priority).toList());
        assertEquals(0, e.state.priority());
        assertEquals(roundUp(UNSCHED + 100_800), grants.get(0).offset());
        assertEquals(4, scheduler.priorityGrants());

        scheduler.maxScheduledPriority(4);
        assertEquals(0, scheduler.sendGrants(0, sender), "no change, no grants");
    }

    @Test
    void shouldSendFifoGrantToOldestAtConfiguredInterval()
    {
        // 10 Gbit/s, 10,000-byte increments, 10% of the link: one FIFO grant per 100,000 bytes = 80 us.
        final GrantConfig config = config()
            .overcommit(1)
            .windowBytes(20_000)
            .linkBitsPerSecond(10_000_000_000L)
            .fifoGrantIncrement(10_000)
            .fifoGrantFractionPerMille(100);
        assertEquals(80_000, config.fifoGrantIntervalNs());
        final GrantScheduler scheduler = new GrantScheduler(config);
        final TestMessage oldest = arrived(1, 1_000_000, 1);
        final TestMessage shortest = arrived(2, 500_000, 2);
        final TestMessage younger = arrived(3, 700_000, 3);
        scheduler.add(oldest);
        scheduler.add(shortest);
        scheduler.add(younger);

        // The first grants come with a FIFO grant at once (the kernel's FIFO clock starts in the past), to the
        // oldest message, at the next-to-highest level (homa_high_priority).
        scheduler.sendGrants(0, sender);
        assertSame(shortest, scheduler.activeMessage(0));
        final List<RecordingGrantSender.Grant> grants = sender.drain();
        RecordingGrantSender.Grant fifo = grants.get(grants.size() - 1);
        assertSame(oldest, fifo.message());
        assertEquals(roundUp(UNSCHED + 10_000), fifo.offset());
        assertEquals(6, fifo.priority());
        assertEquals(80_000, scheduler.nextFifoGrantDeadlineNs());

        scheduler.sendGrants(79_999, sender);
        assertTrue(sender.drain().isEmpty());

        // Then one per interval: the oldest again while it has less than window + 2 increments on the way ...
        long nowNs = 80_000;
        while (oldest.state.incomingBytes() < 20_000 + 2 * 10_000)
        {
            assertEquals(1, scheduler.sendGrants(nowNs, sender));
            fifo = sender.drain().get(0);
            assertSame(oldest, fifo.message());
            assertEquals(nowNs + 80_000, scheduler.nextFifoGrantDeadlineNs());
            nowNs += 80_000;
        }
        // ... and once it has that much it is skipped (its sender ignores grants): the next oldest gets it, active
        // or not.
        assertEquals(1, scheduler.sendGrants(nowNs, sender));
        fifo = sender.drain().get(0);
        assertSame(shortest, fifo.message());
        assertEquals(1 + nowNs / 80_000, scheduler.fifoGrants());
    }

    @Test
    void shouldSendFifoGrantsByBirthWhateverTheOrderMessagesWereAdded()
    {
        final GrantScheduler scheduler = new GrantScheduler(config()
            .overcommit(1)
            .windowBytes(20_000)
            .linkBitsPerSecond(10_000_000_000L)
            .fifoGrantIncrement(10_000)
            .fifoGrantFractionPerMille(100));
        final TestMessage younger = arrived(1, 300_000, 5);
        final TestMessage older = arrived(2, 900_000, 2);
        scheduler.add(younger);
        scheduler.add(older);

        scheduler.sendGrants(0, sender);
        final List<RecordingGrantSender.Grant> grants = sender.drain();
        assertSame(younger, scheduler.activeMessage(0), "the shorter one is granted by SRPT");
        final RecordingGrantSender.Grant fifo = grants.get(grants.size() - 1);
        assertSame(older, fifo.message(), "the FIFO grant goes to the one born first, though added last");
        assertEquals(6, fifo.priority());
    }

    @Test
    void shouldCapTheIncomingBytesOfOnePeer()
    {
        final GrantScheduler scheduler =
            new GrantScheduler(config().maxActivePerPeer(4).maxIncomingBytesPerPeer(100_000));
        final IncomingAccount busy = new IncomingAccount();
        final IncomingAccount other = new IncomingAccount();
        for (int i = 0; i < 4; i++)
        {
            final TestMessage message = arrived(1, 500_000, i);
            message.state.account(busy);
            scheduler.add(message);
        }
        final TestMessage last = arrived(2, 900_000, 4);
        last.state.account(other);
        scheduler.add(last);

        scheduler.sendGrants(0, sender);
        assertEquals(5, scheduler.activeCount());
        assertTrue(busy.bytes() <= 100_000 + PAYLOAD, "one peer's incoming bytes: " + busy.bytes());
        assertTrue(other.bytes() > 0, "the other peer still gets grants");
        assertTrue(scheduler.peerLimitedGrants() > 0);
    }

    @Test
    void shouldGrantAPeersMessageRankedFirstWhateverItsLongerMessagesHold()
    {
        final GrantScheduler scheduler = new GrantScheduler(
            config().maxActivePerPeer(2).maxIncomingBytesPerPeer(100_000).windowBytes(100_000));
        final IncomingAccount busy = new IncomingAccount();
        final TestMessage longer = arrived(1, 1_000_000, 0);
        longer.state.account(busy);
        scheduler.add(longer);
        scheduler.sendGrants(0, sender);
        assertTrue(busy.bytes() > 100_000 - PAYLOAD, "the peer's cap is used up: " + busy.bytes());
        final int longerGranted = longer.state.grantedOffset();

        // A shorter message of the same peer ranks first. The peer sends its shortest message first, so the longer
        // one's bytes on the way are not ahead of it: it gets its window, counting only its own bytes against the
        // peer's cap. The longer one, ranked second, gets nothing more: its peer is over the cap.
        final TestMessage shorter = arrived(1, 300_000, 1);
        shorter.state.account(busy);
        scheduler.add(shorter);
        scheduler.sendGrants(0, sender);
        assertSame(shorter, scheduler.activeMessage(0));
        assertEquals(UNSCHED + 100_800, shorter.state.grantedOffset(), "received + window, a whole packet");
        assertEquals(longerGranted, longer.state.grantedOffset());
        assertTrue(busy.bytes() <= 2 * (100_000 + PAYLOAD), "the cap plus one window: " + busy.bytes());
    }

    @Test
    void shouldNotSendFifoGrantsWhenDisabledOrNobodyNeedsGrants()
    {
        final GrantScheduler disabled = new GrantScheduler(config().overcommit(1).fifoGrantFractionPerMille(0));
        disabled.add(arrived(1, 1_000_000, 1));
        disabled.add(arrived(2, 200_000, 2));
        for (long t = 0; t < 10_000_000; t += 100_000)
        {
            disabled.sendGrants(t, sender);
        }
        assertEquals(0, disabled.fifoGrants());
        assertEquals(Long.MAX_VALUE, disabled.nextFifoGrantDeadlineNs());

        final GrantScheduler nothingToGrant = new GrantScheduler(config().fifoGrantFractionPerMille(50));
        nothingToGrant.add(new TestMessage(1, 5_000, 0, UNSCHED));
        for (long t = 0; t < 10_000_000; t += 100_000)
        {
            nothingToGrant.sendGrants(t, sender);
        }
        assertEquals(0, nothingToGrant.fifoGrants());
        assertEquals(Long.MAX_VALUE, nothingToGrant.nextFifoGrantDeadlineNs());
    }

    @Test
    void shouldPromoteNextMessageOnRemove()
    {
        final GrantScheduler scheduler = new GrantScheduler(config().overcommit(2).windowBytes(50_400));
        final TestMessage m1 = arrived(1, 100_000, 0);
        final TestMessage m2 = arrived(2, 200_000, 1);
        final TestMessage m3 = arrived(3, 300_000, 2);
        scheduler.add(m1);
        scheduler.add(m2);
        scheduler.add(m3);
        scheduler.sendGrants(0, sender);
        assertEquals(2, scheduler.promotions());
        assertFalse(m3.state.isActive());
        assertEquals(UNSCHED, m3.state.grantedOffset());
        sender.drain();

        scheduler.remove(m1);
        assertEquals(1, scheduler.activeCount(), "slot freed at once");
        scheduler.sendGrants(0, sender);
        assertEquals(3, scheduler.promotions());
        assertTrue(m3.state.isActive());
        assertTrue(m3.state.grantedOffset() > UNSCHED);
        assertEquals(0, m2.state.rank());
        assertEquals(1, m3.state.rank());
    }

    @Test
    void shouldKeepAFullyGrantedMessageActiveUntilItIsReceived()
    {
        final GrantScheduler scheduler = new GrantScheduler(config().overcommit(1).fifoGrantFractionPerMille(0));
        final TestMessage small = arrived(1, 50_000, 0);
        final TestMessage big = arrived(2, 600_000, 1);
        scheduler.add(small);
        scheduler.add(big);
        assertEquals(1, scheduler.sendGrants(0, sender));
        final List<RecordingGrantSender.Grant> grants = sender.drain();
        assertSame(small, grants.get(0).message());
        assertEquals(50_000, grants.get(0).offset(), "clipped to the length, not rounded past it");
        assertEquals(1, scheduler.fullyGrantedMessages());
        assertTrue(small.state.isActive(), "its slot is held until the last byte arrives");
        assertEquals(UNSCHED, big.state.grantedOffset(), "the next waits");

        small.received = 49_000;
        scheduler.onDataReceived(small);
        assertEquals(0, scheduler.sendGrants(0, sender));
        small.received = 50_000;
        scheduler.onDataReceived(small);
        scheduler.remove(small);
        assertEquals(1, scheduler.sendGrants(0, sender));
        assertSame(big, sender.drain().get(0).message());
    }

    @Test
    void shouldCountOnlyMessagesThatNeedGrants()
    {
        final GrantScheduler scheduler = new GrantScheduler(config().maxIncomingBytes(100_000).windowBytes(100_000));
        final TestMessage small = new TestMessage(1, 5_000, 0, UNSCHED);
        scheduler.add(small);
        assertEquals(0, scheduler.incomingBytes(), "no grant needed: not the scheduler's to count");
        assertFalse(small.state.isGrantable());

        final TestMessage big = arrived(2, 900_000, 1);
        scheduler.add(big);
        scheduler.sendGrants(0, sender);
        assertEquals(roundUp(UNSCHED + 100_000), big.state.grantedOffset(), "the whole window: nothing else counts");
        assertEquals(big.state.grantedOffset() - big.received, scheduler.incomingBytes());
    }

    @Test
    void shouldNeverLowerGrantsAndKeepInvariantsUnderRandomEvents()
    {
        randomEvents(false);
    }

    @Test
    void shouldKeepInvariantsUnderRandomEventsInStrictMode()
    {
        randomEvents(true);
    }

    private void randomEvents(final boolean strict)
    {
        final long seed = Long.getLong("homa.seed", 7L);
        System.out.println("seed=" + seed + " strict=" + strict);
        final Random random = new Random(seed);
        final GrantConfig config = config()
            .strictOvercommit(strict)
            .overcommit(4)
            .maxIncomingBytes(200_000)
            .fifoGrantFractionPerMille(50)
            .fifoGrantIncrement(20_000)
            .maxActivePerPeer(1);
        final GrantScheduler scheduler = new GrantScheduler(config);
        final List<TestMessage> live = new ArrayList<>();
        final Map<TestMessage, Integer> lastGrant = new HashMap<>();
        long birth = 0;
        long nowNs = 0;

        for (int step = 0; step < 20_000; step++)
        {
            nowNs += random.nextInt(5_000);
            final int action = random.nextInt(10);
            if (0 == action && live.size() < 40)
            {
                final TestMessage message = new TestMessage(random.nextInt(6), 1 + random.nextInt(400_000), birth++,
                    UNSCHED);
                message.received = Math.min(message.length, random.nextInt(UNSCHED + 1));
                live.add(message);
                lastGrant.put(message, message.state.grantedOffset());
                scheduler.add(message);
            }
            else if (1 == action && !live.isEmpty())
            {
                final TestMessage message = live.remove(random.nextInt(live.size()));
                scheduler.remove(message);
                assertFalse(message.state.isTracked());
            }
            else if (!live.isEmpty())
            {
                final TestMessage message = live.get(random.nextInt(live.size()));
                final int limit = Math.min(message.length, message.state.grantedOffset());
                if (message.received < limit)
                {
                    message.received = Math.min(limit, message.received + 1 + random.nextInt(3 * PAYLOAD));
                    scheduler.onDataReceived(message);
                }
                if (message.complete())
                {
                    live.remove(message);
                    scheduler.remove(message);
                }
            }

            scheduler.sendGrants(nowNs, sender);
            for (final RecordingGrantSender.Grant grant : sender.drain())
            {
                final int previous = lastGrant.get(grant.message());
                assertTrue(grant.offset() >= previous, "grant lowered from " + previous + " to " + grant.offset());
                assertTrue(grant.offset() <= grant.message().length, "grant past the end");
                assertTrue(grant.priority() >= 0 && grant.priority() <= 3 || 6 == grant.priority());
                lastGrant.put(grant.message(), grant.offset());
            }

            long expectedIncoming = 0;
            int candidates = 0;
            int holders = 0;
            for (final TestMessage message : live)
            {
                if (message.outstanding() > 0 && message.state.scheduledGrantSent)
                {
                    holders++;
                }
                if (message.needsGrants)
                {
                    // Only messages that need grants count, and they take part until their last byte is in.
                    expectedIncoming += Math.max(0, Math.min(message.state.grantedOffset(), message.length) -
                        message.received);
                    assertTrue(message.state.isGrantable(), "a live message that needs grants is a candidate");
                    candidates++;
                }
            }
            assertEquals(expectedIncoming, scheduler.incomingBytes(), "step " + step);
            assertEquals(live.size(), scheduler.trackedCount());
            assertEquals(holders, scheduler.grantHolders());
            assertEquals(candidates, scheduler.candidateCount());
            assertTrue(scheduler.activeCount() <= 4);
            for (int rank = 1; rank < scheduler.activeCount(); rank++)
            {
                final GrantState better = scheduler.activeMessage(rank - 1).grantState();
                final GrantState worse = scheduler.activeMessage(rank).grantState();
                assertTrue(better.outranks(worse), "active set out of SRPT order at step " + step);
            }
        }
        System.out.println("grants=" + scheduler.grantsSent() + " fifo=" + scheduler.fifoGrants() + " promotions=" +
            scheduler.promotions() + " demotions=" + scheduler.demotions() + " priorityGrants=" +
            scheduler.priorityGrants() + " strictDeferrals=" + scheduler.strictDeferrals());
        assertTrue(scheduler.grantsSent() > 1000, "grants " + scheduler.grantsSent());
        assertTrue(scheduler.fifoGrants() > 0);
    }

    @Test
    @Tag("allocation")
    void shouldNotAllocateInSteadyState()
    {
        // Read through reflection: homa-core's module does not read java.management, the tests run on the class path.
        assumeTrue(allocatedBytes() >= 0, "no per-thread allocation counter");

        final GrantScheduler scheduler = new GrantScheduler(config().fifoGrantFractionPerMille(50));
        final TestMessage[] messages = new TestMessage[32];
        final long[] sink = new long[1];
        final GrantSender noop = (message, offset, priority) -> sink[0] += offset + priority;

        long allocated = 0;
        for (int round = 0; round < 3; round++)
        {
            final long before = allocatedBytes();
            for (int i = 0; i < messages.length; i++)
            {
                if (null == messages[i])
                {
                    messages[i] = new TestMessage(i % 12, 200_000 + i * 10_000, i, UNSCHED);
                }
            }
            final long start = allocatedBytes();
            long nowNs = 0;
            long birth = 1000L * round;
            for (int step = 0; step < 200_000; step++)
            {
                final TestMessage message = messages[step % messages.length];
                if (!message.state.isTracked())
                {
                    message.state.reset(UNSCHED);
                    message.received = UNSCHED;
                    scheduler.add(message);
                }
                else if (message.received < message.state.grantedOffset())
                {
                    message.received = Math.min(message.length, message.received + PAYLOAD);
                    scheduler.onDataReceived(message);
                    if (message.complete())
                    {
                        scheduler.remove(message);
                        message.received = 0;
                    }
                }
                nowNs += 500;
                scheduler.sendGrants(nowNs, noop);
            }
            allocated = allocatedBytes() - start;
            assertTrue(start >= before);
            birth++;
        }
        assertTrue(sink[0] != 0);
        System.out.println("allocated in the last 200,000 steps: " + allocated + " bytes");
        // Any per-step allocation would show as megabytes; allow a little for the counter's own reflective call.
        assertTrue(allocated < 4096, "bytes allocated in the last 200,000 steps: " + allocated);
    }

    private static long allocatedBytes()
    {
        try
        {
            final Object bean = Class.forName("java.lang.management.ManagementFactory")
                .getMethod("getThreadMXBean").invoke(null);
            return (long)Class.forName("com.sun.management.ThreadMXBean")
                .getMethod("getCurrentThreadAllocatedBytes").invoke(bean);
        }
        catch (final ReflectiveOperationException | RuntimeException ex)
        {
            return -1;
        }
    }

    @Test
    void shouldRejectMisuse()
    {
        final GrantScheduler scheduler = new GrantScheduler(config());
        final TestMessage message = arrived(1, 100_000, 0);
        scheduler.add(message);
        assertEquals("message already added: birthOrder=0",
            assertThrows(IllegalStateException.class, () -> scheduler.add(message)).getMessage());
        assertThrows(IllegalStateException.class, () -> message.state.reset(0));
        assertThrows(IllegalStateException.class, () -> scheduler.sendGrants(0, (m, offset, priority) -> scheduler
            .remove(m)));
        assertThrows(IllegalArgumentException.class, () -> scheduler.add(new TestMessage(1, 0, 1, UNSCHED)));
        assertThrows(IllegalArgumentException.class, () -> scheduler.maxScheduledPriority(8));

        scheduler.remove(message);
        scheduler.remove(message);
        message.state.reset(0);
        scheduler.onDataReceived(message);
        assertEquals(0, scheduler.trackedCount());
    }

    @Test
    void shouldValidateConfigWithPreciseMessages()
    {
        assertConfigError("overcommit = 9 is invalid: must be 1..8 (HOMA_MAX_GRANTS)", config().overcommit(9));
        assertConfigError("overcommit = 0 is invalid: must be 1..8 (HOMA_MAX_GRANTS)", config().overcommit(0));
        assertConfigError("maxPacketPayload = 0 is invalid: must be >= 1", config().maxPacketPayload(0));
        assertConfigError("maxIncomingBytes = 10000 is invalid: must be >= maxPacketPayload * (overcommit + 1) = " +
            "12600, so every window holds a packet", config().maxIncomingBytes(10_000));
        assertConfigError("maxIncomingBytesPerPeer = 500000 is invalid: must be 0 (the whole budget) or " +
            "maxPacketPayload 1400 .. maxIncomingBytes 400000", config().maxIncomingBytesPerPeer(500_000));
        assertConfigError("windowBytes = -1 is invalid: must be 0 (dynamic) or >= maxPacketPayload 1400",
            config().windowBytes(-1));
        assertConfigError("windowBytes = 100 is invalid: must be 0 (dynamic) or >= maxPacketPayload 1400",
            config().windowBytes(100));
        assertConfigError("maxScheduledPriority = 8 is invalid: must be 0..7", config().maxScheduledPriority(8));
        assertConfigError("maxActivePerPeer = 0 is invalid: must be >= 1", config().maxActivePerPeer(0));
        assertConfigError("fifoGrantFractionPerMille = 1001 is invalid: must be 0..1000",
            config().fifoGrantFractionPerMille(1001));
        assertConfigError("fifoGrantIncrement = 0 is invalid: must be > 0 when fifoGrantFractionPerMille > 0",
            config().fifoGrantFractionPerMille(50).fifoGrantIncrement(0));
        assertConfigError("linkBitsPerSecond = 0 is invalid: must be > 0", config().linkBitsPerSecond(0));
        assertConfigError("initialPeerCapacity = 0 is invalid: must be >= 1", config().initialPeerCapacity(0));
        assertConfigError("overcommit = 0 is invalid: must be 1..8 (HOMA_MAX_GRANTS)", new GrantConfig());

        config().fifoGrantIncrement(0).validate();
        // 1,000,000 bytes of a 25 Gbit/s link.
        assertEquals(320_000, config().fifoGrantFractionPerMille(50).fifoGrantIntervalNs());
    }

    @Test
    void shouldGrowPeerQueuesBeyondInitialCapacity()
    {
        final GrantScheduler scheduler = new GrantScheduler(config().initialPeerCapacity(2));
        for (int i = 0; i < 10; i++)
        {
            scheduler.add(arrived(i, 100_000 + i, i));
        }
        assertEquals(10, scheduler.peerQueuesCreated());
        scheduler.sendGrants(0, sender);
        assertEquals(8, scheduler.activeCount());
    }

    private static void assertConfigError(final String expected, final GrantConfig config)
    {
        assertEquals(expected, assertThrows(IllegalArgumentException.class, config::validate).getMessage());
        assertEquals(expected, assertThrows(IllegalArgumentException.class, () -> new GrantScheduler(config))
            .getMessage());
    }

    @Test
    void fifoOrderGrantsTheOldestMessageFirstWhereSrptGrantsTheShortest()
    {
        final int[] sizes = { 500_000, 100_000, 300_000 };
        for (final boolean fifo : new boolean[]{ false, true })
        {
            final GrantScheduler scheduler = new GrantScheduler(config().overcommit(1).fifoOrder(fifo));
            final TestMessage[] messages = new TestMessage[sizes.length];
            for (int i = 0; i < sizes.length; i++)
            {
                messages[i] = arrived(i + 1, sizes[i], i);
                scheduler.add(messages[i]);
            }
            scheduler.sendGrants(0, sender);
            final List<RecordingGrantSender.Grant> grants = sender.drain();
            assertEquals(1, grants.size(), "one active message");
            assertSame(fifo ? messages[0] : messages[1], grants.get(0).message(), "fifo=" + fifo);

            // The granted message gains data: under FIFO it keeps its slot however long it still is.
            final TestMessage granted = grants.get(0).message();
            granted.received += 10 * PAYLOAD;
            scheduler.onDataReceived(granted);
            scheduler.sendGrants(0, sender);
            assertSame(granted, scheduler.activeMessage(0), "fifo=" + fifo);
            assertTrue(sender.drain().stream().allMatch((grant) -> grant.message() == granted), "fifo=" + fifo);
        }
    }

    private static int roundUp(final int offset)
    {
        return ((offset + PAYLOAD - 1) / PAYLOAD) * PAYLOAD;
    }
}
