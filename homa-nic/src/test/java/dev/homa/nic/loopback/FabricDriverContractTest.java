package dev.homa.nic.loopback;

import dev.homa.nic.NicDriver;
import dev.homa.nic.NicDriverContractTest;

/**
 * The driver contract on the in-memory fabric, instant mode.
 */
class FabricDriverContractTest extends NicDriverContractTest
{
    private Fabric fabric;

    @Override
    protected NicDriver[] openPair()
    {
        fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(2).build();
        return new NicDriver[] { fabric.driverAt(0), fabric.driverAt(1) };
    }

    @Override
    protected void closeEnvironment()
    {
        fabric.close();
    }
}
