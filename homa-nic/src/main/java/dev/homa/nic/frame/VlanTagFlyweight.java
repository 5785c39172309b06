package dev.homa.nic.frame;

import org.agrona.DirectBuffer;

import static java.nio.ByteOrder.BIG_ENDIAN;

/**
 * Flyweight over an IEEE 802.1Q tag and the EtherType that follows it. Wrap it at the position of the outer
 * EtherType, i.e. {@link EthernetFlyweight#ETHER_TYPE_OFFSET} into the frame.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |         TPID = 0x8100         | PCP |D|         VID           |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |       Inner EtherType         |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 * The TCI holds PCP (priority code point, 3 bits), DEI (drop eligible, 1 bit) and VID (VLAN id, 12 bits). VID 0
 * is a priority tag: the frame stays on the native VLAN and the tag only carries the PCP, which is how Homa uses
 * it. All fields are big-endian.
 */
public final class VlanTagFlyweight extends FrameFlyweight<VlanTagFlyweight>
{
    /** Offset of the tag protocol identifier. */
    public static final int TPID_OFFSET = 0;
    /** Offset of the tag control information. */
    public static final int TCI_OFFSET = 2;
    /** Offset of the EtherType of the tagged payload. */
    public static final int INNER_ETHER_TYPE_OFFSET = 4;
    /** Bytes the tag adds to a frame. */
    public static final int TAG_LENGTH = 4;

    /** TPID of an 802.1Q tag. */
    public static final int TPID_8021Q = EthernetFlyweight.ETHER_TYPE_VLAN;
    /** Largest PCP. */
    public static final int MAX_PCP = 7;
    /** Largest VID (4095 is reserved by the standard but representable). */
    public static final int MAX_VID = 0xFFF;

    private static final int PCP_SHIFT = 13;
    private static final int DEI_BIT = 0x1000;

    /**
     * @return the TPID, 0x8100 for an 802.1Q tag.
     */
    public int tpid()
    {
        return buffer.getShort(offset + TPID_OFFSET, BIG_ENDIAN) & 0xFFFF;
    }

    /**
     * @param tpid tag protocol identifier.
     * @return this.
     */
    public VlanTagFlyweight tpid(final int tpid)
    {
        buffer.putShort(offset + TPID_OFFSET, (short)tpid, BIG_ENDIAN);
        return this;
    }

    /**
     * @return the whole TCI.
     */
    public int tci()
    {
        return tciOf(buffer, offset);
    }

    /**
     * @param tci whole TCI, 0..0xFFFF.
     * @return this.
     */
    public VlanTagFlyweight tci(final int tci)
    {
        buffer.putShort(offset + TCI_OFFSET, (short)tci, BIG_ENDIAN);
        return this;
    }

    /**
     * @return the priority code point, 0..7.
     */
    public int pcp()
    {
        return pcpOf(tci());
    }

    /**
     * @param pcp priority code point, 0..7.
     * @return this.
     */
    public VlanTagFlyweight pcp(final int pcp)
    {
        return tci(tci(pcp, dei(), vid()));
    }

    /**
     * @return the drop eligible indicator.
     */
    public boolean dei()
    {
        return 0 != (tci() & DEI_BIT);
    }

    /**
     * @param dei drop eligible indicator.
     * @return this.
     */
    public VlanTagFlyweight dei(final boolean dei)
    {
        return tci(tci(pcp(), dei, vid()));
    }

    /**
     * @return the VLAN id, 0..4095; 0 for a priority tag.
     */
    public int vid()
    {
        return tci() & MAX_VID;
    }

    /**
     * @param vid VLAN id, 0..4095.
     * @return this.
     */
    public VlanTagFlyweight vid(final int vid)
    {
        return tci(tci(pcp(), dei(), vid));
    }

    /**
     * @return the EtherType of the tagged payload.
     */
    public int innerEtherType()
    {
        return buffer.getShort(offset + INNER_ETHER_TYPE_OFFSET, BIG_ENDIAN) & 0xFFFF;
    }

    /**
     * @param etherType EtherType of the tagged payload.
     * @return this.
     */
    public VlanTagFlyweight innerEtherType(final int etherType)
    {
        buffer.putShort(offset + INNER_ETHER_TYPE_OFFSET, (short)etherType, BIG_ENDIAN);
        return this;
    }

    /**
     * Compose a TCI.
     *
     * @param pcp 0..7.
     * @param dei drop eligible.
     * @param vid 0..4095.
     * @return the TCI.
     * @throws IllegalArgumentException if a field is out of range.
     */
    public static int tci(final int pcp, final boolean dei, final int vid)
    {
        if (pcp < 0 || pcp > MAX_PCP)
        {
            throw new IllegalArgumentException("PCP out of range 0..7: " + pcp);
        }
        if (vid < 0 || vid > MAX_VID)
        {
            throw new IllegalArgumentException("VID out of range 0..4095: " + vid);
        }
        return (pcp << PCP_SHIFT) | (dei ? DEI_BIT : 0) | vid;
    }

    /**
     * @param tci a TCI.
     * @return its PCP.
     */
    public static int pcpOf(final int tci)
    {
        return (tci >>> PCP_SHIFT) & MAX_PCP;
    }

    /**
     * Read the TCI of a tag without wrapping it.
     *
     * @param buffer    holding the frame.
     * @param tagOffset offset of the TPID.
     * @return the TCI.
     */
    public static int tciOf(final DirectBuffer buffer, final int tagOffset)
    {
        return buffer.getShort(tagOffset + TCI_OFFSET, BIG_ENDIAN) & 0xFFFF;
    }
}
