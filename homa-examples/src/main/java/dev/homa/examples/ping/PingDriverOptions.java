package dev.homa.examples.ping;

import java.nio.file.Path;

import dev.homa.nic.NicDriver;
import dev.homa.nic.NicDrivers;
import dev.homa.nic.capture.CapturingDriver;
import dev.homa.nic.capture.PcapWriter;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SystemNanoClock;
import picocli.CommandLine.Option;

/**
 * Options both sides share: which driver (by URI), the Homa port, and the capture switch.
 */
final class PingDriverOptions
{
    @Option(names = { "-d", "--driver" }, required = true, paramLabel = "URI",
        description = "Driver: udp://HOST:PORT (no privileges), raw://IFNAME?options (root), " +
            "loopback://FABRIC/HOST (in-process fabric; the client then runs its own server).")
    String driverUri;

    @Option(names = "--homa-port", defaultValue = "99", paramLabel = "PORT",
        description = "Homa port of the server socket, 1..32767 (default ${DEFAULT-VALUE}).")
    int homaPort;

    @Option(names = "--capture", paramLabel = "FILE",
        description = "Write every frame this side sends and receives to a pcap file (open it in Wireshark with " +
            "docs/wireshark/homa.lua, or read it with tshark).")
    Path capture;

    /**
     * Open the driver named by {@link #driverUri}, wrapped in a {@link CapturingDriver} when {@code --capture} is
     * given.
     *
     * @return the driver to hand to the transport.
     */
    NicDriver openDriver()
    {
        final NicDriver driver = NicDrivers.open(driverUri);
        if (null == capture)
        {
            return driver;
        }
        final NanoClock clock = SystemNanoClock.INSTANCE;
        try
        {
            return new CapturingDriver(driver, PcapWriter.create(capture), clock,
                CapturingDriver.wallClockEpochBaseNs(clock));
        }
        catch (final RuntimeException ex)
        {
            driver.close();
            throw ex;
        }
    }

    boolean isLoopback()
    {
        return driverUri.startsWith(NicDrivers.LOOPBACK + "://");
    }
}
