-- Wireshark dissector for Homa (IP protocol 146, and TCP hijacked by Homa), all packet types, kernel HomaModule
-- layout.
--
-- Usage:
--   wireshark -X lua_script:docs/wireshark/homa.lua capture.pcap
--   tshark -r capture.pcap -X lua_script:docs/wireshark/homa.lua -Y homa -V
-- or copy this file into the personal Lua plugins folder (Help > About > Folders).
--
-- Every multi-byte field is big-endian. Offsets are from the start of the Homa header (protocol.md section 2):
--   common header (28): sport 0, dport 2, sequence 4, (unused 8..10), type 11, doff 12, flags 13, window 14,
--                       checksum 16, urgent 18, sender_id 20 (u64)
--                       A current kernel writes flags 6 (SYN|RST) and urgent 0xb97d on every packet and a TCP-style
--                       checksum (RFC 1071 over a pseudo-header with protocol 6 and the Homa length, then the packet
--                       with the field as 0), which homa.checksum.status verifies; 0 means not set (Homa over UDP).
--   DATA    (56 + payload): message_length 28, incoming 32, ack.client_id 36 (u64), ack.server_port 44,
--                           cutoff_version 46, retransmit 48, pad 49..51, seg.offset 52, payload at 56
--                           seg.offset -1 (0xffffffff): the offset is in sequence (a kernel's single-segment packet);
--                           homa.data.offset is the offset either way. doff is 14 words, or 13 on the segments of a
--                           kernel's GSO batch (same layout on the wire).
--   GRANT   (33): offset 28, priority 32
--   RESEND  (37): offset 28, length 32 (-1 = everything sent so far), priority 36
--   CUTOFFS (62): unsched_cutoffs[8] at 28 (u32 each), cutoff_version 60
--   ACK     (80): num_acks 28, 5 entries of {client_id u64, server_port u16} at 30
--   RPC_UNKNOWN, BUSY, FREEZE, NEED_ACK: the common header only
--   An RPC_UNKNOWN with flags bit 0x40 is this project's in-band "port unreachable" (sport = the closed port, 0 for the
--   whole host; window = the ICMP code), used where the medium has no ICMP (UDP).
--
-- Filter examples: homa.type == 0x10, homa.data.offset > 0, homa.grant.priority == 3, homa.rpc_id == 1234
--
-- Homa over UDP (the UDP driver) is decoded with Analyze > Decode As... (UDP port -> HOMA), or by setting the
-- preference "Homa > UDP port".

local homa = Proto("homa", "Homa Transport Protocol")

local TYPE_DATA        = 0x10
local TYPE_GRANT       = 0x11
local TYPE_RESEND      = 0x12
local TYPE_RPC_UNKNOWN = 0x13
local TYPE_BUSY        = 0x14
local TYPE_CUTOFFS     = 0x15
local TYPE_FREEZE      = 0x16
local TYPE_NEED_ACK    = 0x17
local TYPE_ACK         = 0x18

local type_names = {
    [TYPE_DATA]        = "DATA",
    [TYPE_GRANT]       = "GRANT",
    [TYPE_RESEND]      = "RESEND",
    [TYPE_RPC_UNKNOWN] = "RPC_UNKNOWN",
    [TYPE_BUSY]        = "BUSY",
    [TYPE_CUTOFFS]     = "CUTOFFS",
    [TYPE_FREEZE]      = "FREEZE",
    [TYPE_NEED_ACK]    = "NEED_ACK",
    [TYPE_ACK]         = "ACK",
}

local COMMON_HEADER_LENGTH = 28
local header_lengths = {
    [TYPE_DATA]        = 56,
    [TYPE_GRANT]       = 33,
    [TYPE_RESEND]      = 37,
    [TYPE_RPC_UNKNOWN] = COMMON_HEADER_LENGTH,
    [TYPE_BUSY]        = COMMON_HEADER_LENGTH,
    [TYPE_CUTOFFS]     = 62,
    [TYPE_FREEZE]      = COMMON_HEADER_LENGTH,
    [TYPE_NEED_ACK]    = COMMON_HEADER_LENGTH,
    [TYPE_ACK]         = 80,
}
local MAX_ACKS = 5
local ACK_ENTRY_LENGTH = 10

local f = homa.fields
-- Common header
f.sport          = ProtoField.uint16("homa.sport", "Source Port", base.DEC)
f.dport          = ProtoField.uint16("homa.dport", "Destination Port", base.DEC)
f.port           = ProtoField.uint16("homa.port", "Port (source or destination)", base.DEC)
f.sequence       = ProtoField.uint32("homa.sequence", "Sequence", base.DEC)
f.unused1        = ProtoField.bytes("homa.unused1", "Unused (TCP ack)")
f.type           = ProtoField.uint8("homa.type", "Type", base.HEX, type_names)
f.type_name      = ProtoField.string("homa.type_name", "Type Name")
f.doff           = ProtoField.uint8("homa.doff", "Data Offset (32-bit words)", base.DEC, nil, 0xF0)
f.flags          = ProtoField.uint8("homa.flags", "Flags", base.HEX)
f.flags_kernel   = ProtoField.bool("homa.flags.kernel", "Kernel mark (SYN|RST)", 8, nil, 0x06)
f.flags_unreachable = ProtoField.bool("homa.flags.unreachable", "Unreachable notice", 8, nil, 0x40)
f.flags_incast   = ProtoField.bool("homa.flags.incast", "Incast", 8, nil, 0x80)
f.window         = ProtoField.uint16("homa.window", "Window (unused)", base.HEX)
f.checksum       = ProtoField.uint16("homa.checksum", "Checksum (TCP-style, pseudo-header protocol 6)", base.HEX)
f.checksum_status = ProtoField.string("homa.checksum.status", "Checksum Status")
f.urgent         = ProtoField.uint16("homa.urgent", "Urgent (0xb97d on a kernel's packets)", base.HEX)
f.sender_id      = ProtoField.uint64("homa.sender_id", "Sender ID", base.DEC)
f.rpc_id         = ProtoField.uint64("homa.rpc_id", "RPC ID (client's id: sender_id with bit 0 cleared)", base.DEC)
f.from_client    = ProtoField.bool("homa.from_client", "From Client (sender_id even)")
-- DATA
f.data_message_length = ProtoField.uint32("homa.data.message_length", "Message Length", base.DEC)
f.data_incoming       = ProtoField.uint32("homa.data.incoming", "Incoming", base.DEC)
f.data_ack_client_id  = ProtoField.uint64("homa.data.ack.client_id", "Ack Client ID", base.DEC)
f.data_ack_server_port = ProtoField.uint16("homa.data.ack.server_port", "Ack Server Port", base.DEC)
f.data_cutoff_version = ProtoField.uint16("homa.data.cutoff_version", "Cutoff Version", base.DEC)
f.data_retransmit     = ProtoField.uint8("homa.data.retransmit", "Retransmit", base.DEC,
                                         { [0] = "no", [1] = "yes" })
f.data_pad            = ProtoField.bytes("homa.data.pad", "Pad")
f.data_seg_offset     = ProtoField.int32("homa.data.seg_offset", "seg.offset (-1: the offset is in sequence)",
                                         base.DEC)
f.data_offset         = ProtoField.uint32("homa.data.offset", "Offset", base.DEC)
f.data_gso            = ProtoField.bool("homa.data.gso_segment", "Segment of a GSO batch (doff 13)")
f.data_payload_length = ProtoField.uint32("homa.data.payload_length", "Payload Length", base.DEC)
f.data_end            = ProtoField.uint32("homa.data.end", "Segment End (offset + payload length)", base.DEC)
f.data_payload        = ProtoField.bytes("homa.data.payload", "Payload")
-- GRANT
f.grant_offset   = ProtoField.uint32("homa.grant.offset", "Granted Offset", base.DEC)
f.grant_priority = ProtoField.uint8("homa.grant.priority", "Priority", base.DEC)
-- RESEND
f.resend_offset   = ProtoField.uint32("homa.resend.offset", "Offset", base.DEC)
f.resend_length   = ProtoField.int32("homa.resend.length", "Length (-1 = all sent so far)", base.DEC)
f.resend_priority = ProtoField.uint8("homa.resend.priority", "Priority", base.DEC)
-- CUTOFFS
f.cutoffs_cutoff  = ProtoField.uint32("homa.cutoffs.cutoff", "Unscheduled Cutoff", base.DEC)
f.cutoffs_version = ProtoField.uint16("homa.cutoffs.version", "Cutoff Version", base.DEC)
-- ACK
f.ack_num_acks    = ProtoField.uint16("homa.ack.num_acks", "Number of Acks", base.DEC)
f.ack_client_id   = ProtoField.uint64("homa.ack.client_id", "Client ID", base.DEC)
f.ack_server_port = ProtoField.uint16("homa.ack.server_port", "Server Port", base.DEC)

local e_short        = ProtoExpert.new("homa.short", "Packet shorter than the header of its type",
                                       expert.group.MALFORMED, expert.severity.ERROR)
local e_unknown_type = ProtoExpert.new("homa.unknown_type", "Unknown Homa packet type",
                                       expert.group.UNDECODED, expert.severity.WARN)
local e_bad_doff     = ProtoExpert.new("homa.bad_doff", "Data offset inconsistent with the packet type",
                                       expert.group.MALFORMED, expert.severity.WARN)
local e_too_many     = ProtoExpert.new("homa.too_many_acks", "More acks than fit in an ACK packet",
                                       expert.group.MALFORMED, expert.severity.ERROR)
local e_retransmit   = ProtoExpert.new("homa.retransmission", "Retransmitted DATA (answers a RESEND)",
                                       expert.group.SEQUENCE, expert.severity.NOTE)
local e_bad_checksum = ProtoExpert.new("homa.bad_checksum", "Checksum is not the TCP-style one a kernel's packet carries",
                                       expert.group.CHECKSUM, expert.severity.WARN)
homa.experts = { e_short, e_unknown_type, e_bad_doff, e_too_many, e_retransmit, e_bad_checksum }

local f_ip_src = Field.new("ip.src")
local f_ip_dst = Field.new("ip.dst")

-- The checksum a kernel's packet carries: RFC 1071 over the pseudo-header {src, dst, 0, 6, length} and the Homa
-- bytes with the checksum field taken as 0 (homa_hijack_set_hdr seeds it, the offload completes it).
local function kernel_checksum(tvb, length, src, dst)
    local sum = math.floor(src / 65536) + (src % 65536) + math.floor(dst / 65536) + (dst % 65536) + 6 + length
    local i = 0
    while i + 1 < length do
        if i ~= 16 then
            sum = sum + tvb(i, 2):uint()
        end
        i = i + 2
    end
    if i < length then
        sum = sum + tvb(i, 1):uint() * 256
    end
    while sum > 0xffff do
        sum = (sum % 65536) + math.floor(sum / 65536)
    end
    local checksum = 0xffff - sum
    if checksum == 0 then
        checksum = 0xffff
    end
    return checksum
end

homa.prefs.udp_port = Pref.uint("UDP port", 0, "Decode this UDP port as Homa (0: none)")

local function dissect_data(tvb, pinfo, tree, length)
    tree:add(f.data_message_length, tvb(28, 4))
    tree:add(f.data_incoming, tvb(32, 4))
    tree:add(f.data_ack_client_id, tvb(36, 8))
    tree:add(f.data_ack_server_port, tvb(44, 2))
    tree:add(f.data_cutoff_version, tvb(46, 2))
    local retransmit_item = tree:add(f.data_retransmit, tvb(48, 1))
    tree:add(f.data_pad, tvb(49, 3))
    local seg_offset = tvb(52, 4):uint()
    local offset = seg_offset
    if seg_offset == 0xffffffff then
        offset = tvb(4, 4):uint()
    end
    tree:add(f.data_seg_offset, tvb(52, 4))
    tree:add(f.data_offset, offset):set_generated()
    local payload_length = length - 56
    tree:add(f.data_payload_length, payload_length):set_generated()
    tree:add(f.data_end, offset + payload_length):set_generated()
    if payload_length > 0 then
        tree:add(f.data_payload, tvb(56, payload_length))
    end
    if tvb(48, 1):uint() ~= 0 then
        retransmit_item:add_proto_expert_info(e_retransmit)
    end
    return string.format(" msg=%u offset=%u len=%u incoming=%u%s", tvb(28, 4):uint(), offset, payload_length,
                         tvb(32, 4):uint(), tvb(48, 1):uint() ~= 0 and " RETRANSMIT" or "")
end

local function dissect_grant(tvb, pinfo, tree, length)
    tree:add(f.grant_offset, tvb(28, 4))
    tree:add(f.grant_priority, tvb(32, 1))
    return string.format(" offset=%u priority=%u", tvb(28, 4):uint(), tvb(32, 1):uint())
end

local function dissect_resend(tvb, pinfo, tree, length)
    tree:add(f.resend_offset, tvb(28, 4))
    tree:add(f.resend_length, tvb(32, 4))
    tree:add(f.resend_priority, tvb(36, 1))
    return string.format(" offset=%u length=%d priority=%u", tvb(28, 4):uint(), tvb(32, 4):int(),
                         tvb(36, 1):uint())
end

local function dissect_cutoffs(tvb, pinfo, tree, length)
    for i = 0, 7 do
        tree:add(f.cutoffs_cutoff, tvb(28 + 4 * i, 4)):prepend_text(string.format("[%d] ", i))
    end
    tree:add(f.cutoffs_version, tvb(60, 2))
    return string.format(" version=%u", tvb(60, 2):uint())
end

local function dissect_ack(tvb, pinfo, tree, length)
    local count_item = tree:add(f.ack_num_acks, tvb(28, 2))
    local num_acks = tvb(28, 2):uint()
    if num_acks > MAX_ACKS then
        count_item:add_proto_expert_info(e_too_many)
        num_acks = MAX_ACKS
    end
    for i = 0, num_acks - 1 do
        local base_offset = 30 + ACK_ENTRY_LENGTH * i
        local entry = tree:add(homa, tvb(base_offset, ACK_ENTRY_LENGTH), string.format("Ack [%d]", i))
        entry:add(f.ack_client_id, tvb(base_offset, 8))
        entry:add(f.ack_server_port, tvb(base_offset + 8, 2))
        entry:append_text(string.format(": client_id=%s server_port=%u", tostring(tvb(base_offset, 8):uint64()),
                                        tvb(base_offset + 8, 2):uint()))
    end
    return string.format(" acks=%u", tvb(28, 2):uint())
end

local dissectors = {
    [TYPE_DATA]    = dissect_data,
    [TYPE_GRANT]   = dissect_grant,
    [TYPE_RESEND]  = dissect_resend,
    [TYPE_CUTOFFS] = dissect_cutoffs,
    [TYPE_ACK]     = dissect_ack,
}

function homa.dissector(tvb, pinfo, tree)
    local length = tvb:len()
    pinfo.cols.protocol = "HOMA"
    local subtree = tree:add(homa, tvb(), "Homa Transport Protocol")
    if length < COMMON_HEADER_LENGTH then
        subtree:add_proto_expert_info(e_short)
        pinfo.cols.info = "Homa (truncated)"
        return length
    end

    local sport = tvb(0, 2):uint()
    local dport = tvb(2, 2):uint()
    local ptype = tvb(11, 1):uint()
    local sender_id = tvb(20, 8):uint64()
    local name = type_names[ptype] or string.format("UNKNOWN(0x%02x)", ptype)

    subtree:add(f.sport, tvb(0, 2))
    subtree:add(f.dport, tvb(2, 2))
    subtree:add(f.port, tvb(0, 2)):set_hidden()
    subtree:add(f.port, tvb(2, 2)):set_hidden()
    subtree:add(f.sequence, tvb(4, 4))
    subtree:add(f.unused1, tvb(8, 3))
    local type_item = subtree:add(f.type, tvb(11, 1))
    subtree:add(f.type_name, name):set_generated()
    local doff_item = subtree:add(f.doff, tvb(12, 1))
    local flags_item = subtree:add(f.flags, tvb(13, 1))
    flags_item:add(f.flags_kernel, tvb(13, 1))
    flags_item:add(f.flags_unreachable, tvb(13, 1))
    flags_item:add(f.flags_incast, tvb(13, 1))
    subtree:add(f.window, tvb(14, 2))
    local checksum_item = subtree:add(f.checksum, tvb(16, 2))
    local checksum = tvb(16, 2):uint()
    local src = f_ip_src()
    local dst = f_ip_dst()
    if checksum == 0 then
        subtree:add(f.checksum_status, "not set"):set_generated()
    elseif src ~= nil and dst ~= nil and src.len == 4 and dst.len == 4 then
        if kernel_checksum(tvb, length, src.range:uint(), dst.range:uint()) == checksum then
            subtree:add(f.checksum_status, "good"):set_generated()
        else
            subtree:add(f.checksum_status, "bad"):set_generated()
            checksum_item:add_proto_expert_info(e_bad_checksum)
        end
    end
    subtree:add(f.urgent, tvb(18, 2))
    subtree:add(f.sender_id, tvb(20, 8))
    -- Kernel convention: client RPC ids are even and the server's id for the same RPC is the client's id + 1.
    local rpc_id = sender_id - sender_id:band(UInt64(1))
    subtree:add(f.rpc_id, rpc_id):set_generated()
    subtree:add(f.from_client, sender_id:band(UInt64(1)) == UInt64(0)):set_generated()

    subtree:append_text(string.format(", %s, Src Port: %u, Dst Port: %u, Sender ID: %s", name, sport, dport,
                                      tostring(sender_id)))
    local info = string.format("%s %u \xe2\x86\x92 %u id=%s", name, sport, dport, tostring(sender_id))

    local header_length = header_lengths[ptype]
    if header_length == nil then
        type_item:add_proto_expert_info(e_unknown_type)
    else
        local doff_words = math.floor(tvb(12, 1):uint() / 16)
        if ptype == TYPE_DATA and doff_words == 13 then
            -- A segment of a kernel's GSO batch: the NIC replicated the 52 bytes before the segment header.
            subtree:add(f.data_gso, true):set_generated()
        elseif doff_words ~= (ptype == TYPE_DATA and 14 or 5) then
            doff_item:add_proto_expert_info(e_bad_doff)
        end
        if length < header_length then
            subtree:add_proto_expert_info(e_short)
            info = info .. " [truncated]"
        else
            local dissect = dissectors[ptype]
            if dissect ~= nil then
                info = info .. dissect(tvb, pinfo, subtree, length)
            elseif ptype == TYPE_RPC_UNKNOWN and tvb(13, 1):bitfield(1, 1) == 1 then
                info = info .. string.format(" UNREACHABLE port=%u code=%u", sport, tvb(14, 2):uint())
            end
        end
    end
    pinfo.cols.info = info
    return length
end

DissectorTable.get("ip.proto"):add(146, homa)

-- TCP hijacked by Homa (protocol 6 with flags SYN|RST and urgent pointer 0xb97d, which real TCP never sends
-- together): the segments a device's segmentation offload cut from one of Homa's large DATA frames. They are Homa;
-- every other protocol-6 packet goes to the TCP dissector.
local ip_proto_table = DissectorTable.get("ip.proto")
local tcp_dissector = ip_proto_table:get_dissector(6)
local hijacked_tcp = Proto("homa_tcp", "Homa hijacked TCP")
function hijacked_tcp.dissector(tvb, pinfo, tree)
    if tvb:len() >= 20 and tvb(13, 1):uint() == 6 and tvb(18, 2):uint() == 0xb97d then
        return homa.dissector(tvb, pinfo, tree)
    end
    return tcp_dissector:call(tvb, pinfo, tree)
end
if tcp_dissector ~= nil then
    ip_proto_table:add(6, hijacked_tcp)
end
DissectorTable.get("udp.port"):add_for_decode_as(homa)

local registered_udp_port = 0
function homa.prefs_changed()
    local udp_table = DissectorTable.get("udp.port")
    if registered_udp_port ~= 0 then
        udp_table:remove(registered_udp_port, homa)
    end
    registered_udp_port = homa.prefs.udp_port
    if registered_udp_port ~= 0 then
        udp_table:add(registered_udp_port, homa)
    end
end
