package dev.homa.bench.rtt;

import java.util.List;

import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RttTableTest
{
    @Test
    @Timeout(5)
    void ratiosAreToTheMatchingFloorAndMarkedAgainstTheTargets()
    {
        final RttResult floor = result(RttPath.AF_PACKET, 10_000, 20_000);
        final RttResult withinTarget = result(RttPath.HOMA_RAW, 10_900, 25_000);
        final RttResult udpFloor = result(RttPath.KERNEL_UDP, 5_000, 10_000);
        final RttResult missing = result(RttPath.HOMA_UDP, 6_000, 14_000);

        final String table = RttTable.format(List.of(floor, udpFloor, withinTarget, missing));

        assertTrue(table.contains("| homa-raw | 1000 | 0 | 1000/1000 | 10.9 |"), table);
        assertTrue(table.contains("1.09x ok | 1.25x ok | - | - |"), table);
        assertTrue(table.contains("1.20x MISS | 1.40x MISS | - | - |"), table);
    }

    @Test
    @Timeout(5)
    void pairedRatiosCompareEachRoundWithItsOwnFloor()
    {
        // Steady: 1.05x in every round. Drifting: round 2 is slow for both; in round 3 only the path ran slow.
        // Pooled, slow rounds of the path meet fast samples of the floor, so the pooled p50 ratio reads 1.26x.
        final List<List<RttResult>> rounds = List.of(
            List.of(result(RttPath.AF_PACKET, 3_000, 3_400), result(RttPath.HOMA_RAW, 3_150, 3_570)),
            List.of(result(RttPath.AF_PACKET, 3_000, 3_400), result(RttPath.HOMA_RAW, 3_150, 3_570)),
            List.of(result(RttPath.AF_PACKET, 3_000, 3_400), result(RttPath.HOMA_RAW, 3_150, 3_570)));
        final List<List<RttResult>> drifting = List.of(
            List.of(result(RttPath.AF_PACKET, 3_000, 3_400), result(RttPath.HOMA_RAW, 3_150, 3_570)),
            List.of(result(RttPath.AF_PACKET, 3_600, 4_000), result(RttPath.HOMA_RAW, 3_780, 4_200)),
            List.of(result(RttPath.AF_PACKET, 3_000, 3_400), result(RttPath.HOMA_RAW, 3_780, 4_200)));
        final RttResult pooledFloor = result(RttPath.AF_PACKET, 3_000, 3_400);
        final RttResult pooledPath = result(RttPath.HOMA_RAW, 3_780, 4_200);

        final String steady = RttTable.format(List.of(pooledFloor, pooledPath), rounds);
        assertTrue(steady.contains("| 1.05x ok (1.05-1.05, 3) | 1.05x ok (1.05-1.05, 3) |"), steady);

        final String table = RttTable.format(List.of(pooledFloor, pooledPath), drifting);
        assertTrue(table.contains("1.26x MISS | 1.24x ok | 1.05x ok (1.05-1.26, 3) | 1.05x ok (1.05-1.24, 3) |"),
            table);
    }

    @Test
    @Timeout(5)
    void aFloorWithAStalledTailGivesNoP99Ratio()
    {
        final RttResult floor = result(RttPath.KERNEL_UDP, 5_000, 8_000_000);
        final RttResult path = result(RttPath.UDP_ECHO, 8_000, 10_000);

        final String table = RttTable.format(List.of(floor, path));

        assertTrue(table.contains("1.60x MISS | n/a, floor p99 disturbed |"), table);
    }

    @Test
    @Timeout(5)
    void aPathThatDidNotRunSaysWhy()
    {
        final String table = RttTable.format(List.of(RttResult.skipped(RttPath.HOMA_UDP, "no engine")));

        assertTrue(table.contains("| homa-udp | 0 | 0 | ? | - |"), table);
        assertTrue(table.contains("- homa-udp: no engine"), table);
    }

    @Test
    @Timeout(5)
    void pathsAreNamedByTheirIds()
    {
        for (final RttPath path : RttPath.values())
        {
            assertEquals(path, RttPath.of(path.id()));
        }
        assertThrows(IllegalArgumentException.class, () -> RttPath.of("carrier-pigeon"));
    }

    private static RttResult result(final RttPath path, final long p50Ns, final long p99Ns)
    {
        final Histogram histogram = new Histogram(1_000_000_000L, 3);
        histogram.recordValueWithCount(p50Ns, 980);
        histogram.recordValueWithCount(p99Ns, 20);
        return new RttResult(path, histogram, 0, 0, 1, null, 1000);
    }
}
