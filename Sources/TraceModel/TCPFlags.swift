/// TCP header flags, bit for bit as on the wire (RFC 9293 §3.1), so `0x12` is SYN+ACK everywhere.
public struct TCPFlags: OptionSet, Hashable, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let fin = TCPFlags(rawValue: 0x01)
    public static let syn = TCPFlags(rawValue: 0x02)
    public static let rst = TCPFlags(rawValue: 0x04)
    public static let psh = TCPFlags(rawValue: 0x08)
    public static let ack = TCPFlags(rawValue: 0x10)
    public static let urg = TCPFlags(rawValue: 0x20)
    public static let ece = TCPFlags(rawValue: 0x40)
    public static let cwr = TCPFlags(rawValue: 0x80)

    /// `SYN, ACK` in Wireshark's order.
    public var text: String {
        var parts: [String] = []
        for (n, f) in [("FIN", TCPFlags.fin), ("SYN", .syn), ("RST", .rst), ("PSH", .psh), ("ACK", .ack), ("URG", .urg), ("ECE", .ece), ("CWR", .cwr)]
        where contains(f) { parts.append(n) }
        // Wireshark lists SYN/FIN/RST/PSH before ACK; keep that reading order.
        return parts.joined(separator: ", ")
    }
}

/// Wireshark's expert notes on a TCP segment, kept as bits so queries can filter on them.
public struct TCPExpert: OptionSet, Hashable, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let retransmission = TCPExpert(rawValue: 1 << 0)
    public static let fastRetransmission = TCPExpert(rawValue: 1 << 1)
    public static let spuriousRetransmission = TCPExpert(rawValue: 1 << 2)
    public static let dupAck = TCPExpert(rawValue: 1 << 3)
    public static let previousSegmentLost = TCPExpert(rawValue: 1 << 4)
    public static let ackedLostSegment = TCPExpert(rawValue: 1 << 5)
    public static let outOfOrder = TCPExpert(rawValue: 1 << 6)
    public static let zeroWindow = TCPExpert(rawValue: 1 << 7)
    public static let windowFull = TCPExpert(rawValue: 1 << 8)
    public static let windowUpdate = TCPExpert(rawValue: 1 << 9)
    public static let keepAlive = TCPExpert(rawValue: 1 << 10)
    public static let keepAliveAck = TCPExpert(rawValue: 1 << 11)
    public static let checksumIncorrect = TCPExpert(rawValue: 1 << 12)
    public static let segmentOfReassembledPDU = TCPExpert(rawValue: 1 << 13)
    public static let portNumbersReused = TCPExpert(rawValue: 1 << 14)
    public static let synRetransmit = TCPExpert(rawValue: 1 << 15)
    /// One byte sent into a zero window to see whether it opened (and the peer's answer to it).
    public static let zeroWindowProbe = TCPExpert(rawValue: 1 << 16)
    public static let zeroWindowProbeAck = TCPExpert(rawValue: 1 << 17)

    /// Wireshark's bracketed texts, matched by prefix (`[TCP Dup ACK 12#1]` → dupAck).
    public static let wiresharkNotes: [(String, TCPExpert)] = [
        ("TCP Retransmission", .retransmission),
        ("TCP Fast Retransmission", [.retransmission, .fastRetransmission]),
        ("TCP Spurious Retransmission", [.retransmission, .spuriousRetransmission]),
        ("TCP Dup ACK", .dupAck),
        ("TCP Previous segment lost", .previousSegmentLost),
        ("TCP Previous segment not captured", .previousSegmentLost),
        ("TCP ACKed lost segment", .ackedLostSegment),
        ("TCP ACKed unseen segment", .ackedLostSegment),
        ("TCP Out-Of-Order", .outOfOrder),
        ("TCP ZeroWindowProbeAck", .zeroWindowProbeAck),
        ("TCP ZeroWindowProbe", .zeroWindowProbe),
        ("TCP ZeroWindow", .zeroWindow),
        ("TCP Window Full", .windowFull),
        ("TCP Window Update", .windowUpdate),
        ("TCP Keep-Alive ACK", .keepAliveAck),
        ("TCP Keep-Alive", .keepAlive),
        ("TCP CHECKSUM INCORRECT", .checksumIncorrect),
        ("TCP segment of a reassembled PDU", .segmentOfReassembledPDU),
        ("TCP Port numbers reused", .portNumbersReused),
        ("SynReTransmit", [.retransmission, .synRetransmit]),
    ]

    public var names: [String] {
        var out: [String] = []
        let labels: [(String, TCPExpert)] = [
            ("retransmission", .retransmission), ("fast_retransmission", .fastRetransmission),
            ("spurious_retransmission", .spuriousRetransmission), ("dup_ack", .dupAck),
            ("previous_segment_lost", .previousSegmentLost), ("acked_lost_segment", .ackedLostSegment),
            ("out_of_order", .outOfOrder), ("zero_window", .zeroWindow), ("window_full", .windowFull),
            ("window_update", .windowUpdate), ("keep_alive", .keepAlive), ("keep_alive_ack", .keepAliveAck),
            ("checksum_incorrect", .checksumIncorrect), ("segment_of_reassembled_pdu", .segmentOfReassembledPDU),
            ("port_numbers_reused", .portNumbersReused), ("syn_retransmit", .synRetransmit),
            ("zero_window_probe", .zeroWindowProbe), ("zero_window_probe_ack", .zeroWindowProbeAck),
        ]
        for (n, e) in labels where contains(e) { out.append(n) }
        return out
    }
}
