package dev.homa.nic.raw;

import dev.homa.nic.NicDriver;
import dev.homa.nic.NicDriverContractTest;
import dev.homa.test.NetnsPair;
import org.junit.jupiter.api.Assumptions;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The driver contract on raw Ethernet: one driver in each of two network namespaces joined by veth; skipped, with
 * the reason, where namespaces cannot be made.
 */
class RawEthernetDriverContractTest extends NicDriverContractTest
{
    private NetnsPair pair;

    @Override
    protected NicDriver[] openPair() throws Exception
    {
        Assumptions.assumeTrue(null == NetnsPair.skipReasonIfUnavailable(), NetnsPair::skipReasonIfUnavailable);
        pair = NetnsPair.create("hcon");
        final RawEthernetDriver a =
            pair.callIn(pair.nsA(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifA() + "?pool=512"));
        final RawEthernetDriver b =
            pair.callIn(pair.nsB(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifB() + "?pool=512"));
        assertTrue(a.awaitNeighbour(b.localAddress(), TimeUnit.SECONDS.toNanos(5)), "A resolves B");
        assertTrue(b.awaitNeighbour(a.localAddress(), TimeUnit.SECONDS.toNanos(5)), "B resolves A");
        return new NicDriver[] { a, b };
    }

    @Override
    protected void closeEnvironment()
    {
        if (null != pair)
        {
            pair.close();
        }
    }
}
