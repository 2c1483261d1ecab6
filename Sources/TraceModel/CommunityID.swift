/// Community ID flow hashing, version 1 (https://github.com/corelight/community-id-spec).
///
/// A Community ID is the same string for both directions of a flow and for every tool that
/// implements the spec (Zeek, Suricata, Arkime, …), which is what lets records from different
/// capture points be joined on it.
public enum CommunityID {
    /// `src`/`dst` are raw address bytes: 4 bytes for IPv4, 16 for IPv6 (network order).
    /// proto: IANA number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, 132 SCTP). For ICMP/ICMPv6 follow the spec's
    /// type/code port mapping and one-way handling. Returns the "1:<base64>" string and `key`:
    /// the first 8 bytes of the SHA-1 digest read as a big-endian UInt64, bit-cast to Int64.
    ///
    /// For ICMP/ICMPv6 pass the message type as `srcPort` and the code as `dstPort`.
    /// For protocols other than the five above the spec hashes no ports, so the ports are ignored.
    public static func v1(proto: UInt8, src: [UInt8], srcPort: UInt16, dst: [UInt8], dstPort: UInt16,
                          seed: UInt16 = 0) -> (id: String, key: Int64) {
        assert(src.count == dst.count && (src.count == 4 || src.count == 16), "need two IPv4 or two IPv6 addresses")

        var srcPort = srcPort, dstPort = dstPort
        var hasPorts = true
        var oneWay = false
        switch proto {
        case 6, 17, 132:
            break
        case 1, 58:
            // ICMP has no ports. Following Zeek, a request/response type becomes the pair
            // (type, counterpart type), so the request and its reply order into the same flow.
            // Any other type is one-way: (type, code), hashed in the direction seen, never flipped.
            let counterpart = proto == 1 ? icmp4Counterpart[srcPort] : icmp6Counterpart[srcPort]
            if let counterpart {
                dstPort = counterpart
            } else {
                oneWay = true
            }
        default:
            hasPorts = false
            srcPort = 0; dstPort = 0  // unused; zeroed so an equal-address tie cannot depend on them
        }

        // Direction-free: hash the lower endpoint first, unless the ICMP message is one-way.
        let inOrder = oneWay || isOrdered(src: src, srcPort: srcPort, dst: dst, dstPort: dstPort)
        let (lowAddr, lowPort, highAddr, highPort) =
            inOrder ? (src, srcPort, dst, dstPort) : (dst, dstPort, src, srcPort)

        // seed . lower addr . higher addr . proto . 0 . [lower port . higher port], all network order;
        // the padding byte keeps the input 32-bit aligned, as the spec requires.
        var input: [UInt8] = []
        input.reserveCapacity(40)
        func appendBigEndian(_ value: UInt16) {
            input.append(UInt8(value >> 8))
            input.append(UInt8(truncatingIfNeeded: value))
        }
        appendBigEndian(seed)
        input += lowAddr
        input += highAddr
        input.append(proto)
        input.append(0)
        if hasPorts {
            appendBigEndian(lowPort)
            appendBigEndian(highPort)
        }

        let digest = SHA1.hash(input)
        let key = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return ("1:" + Base64.encode(digest), Int64(bitPattern: key))
    }

    /// Whether (src,srcPort) is the "lower" endpoint in the spec's ordering (used to order the two endpoints of a connection id the same way): true when src < dst bytewise, or equal addresses and srcPort < dstPort.
    public static func isOrdered(src: [UInt8], srcPort: UInt16, dst: [UInt8], dstPort: UInt16) -> Bool {
        // Lexicographic unsigned-byte comparison is numeric comparison of network-order addresses.
        src.lexicographicallyPrecedes(dst) || (src == dst && srcPort < dstPort)
    }

    /// ICMPv4 request/response type pairs, as in Zeek's ICMP4_counterpart and pycommunityid's
    /// icmp.py: echo 8/0, router solicitation/advertisement 10/9, timestamp 13/14,
    /// information 15/16, address mask 17/18.
    private static let icmp4Counterpart: [UInt16: UInt16] = [
        8: 0, 0: 8, 10: 9, 9: 10, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17,
    ]

    /// ICMPv6 pairs, as in Zeek's ICMP6_counterpart and pycommunityid's icmp6.py: echo 128/129,
    /// MLD query/report 130/131, router solicitation/advertisement 133/134, neighbor
    /// solicitation/advertisement 135/136, who-are-you 139/140, home agent address discovery 144/145.
    private static let icmp6Counterpart: [UInt16: UInt16] = [
        128: 129, 129: 128, 130: 131, 131: 130, 133: 134, 134: 133,
        135: 136, 136: 135, 139: 140, 140: 139, 144: 145, 145: 144,
    ]
}
