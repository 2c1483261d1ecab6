import TraceModel
import EventStore

/// The connections one tuple carried in turn. A client that binds a fixed port, or a NAT that hands the
/// same port out again, reuses a tuple: each new SYN with a new initial sequence number opens a new
/// connection, while a resent SYN (same ISN, or the same SYN again before the last attempt ended) stays
/// the same attempt — the Edge's three SYNs to its Front End are one.
enum ConnectionInstances {
    /// The SYN's number as sent: the raw one, or the one an export shows when it shows absolute numbers (a
    /// relative export shows 0 for every SYN, which tells nothing).
    static func number(_ p: PacketFacts) -> Int64? { p.seqRaw ?? ((p.seq ?? 0) != 0 ? p.seq : nil) }

    /// One source's packets of one tuple (time order), cut where a new connection starts.
    static func split(_ packets: [PacketFacts]) -> [[PacketFacts]] {
        var out: [[PacketFacts]] = []
        var current: [PacketFacts] = []
        var isn: Int64? = nil       // the current attempt's SYN (raw), when the source shows raw numbers
        var synSeen = false, ended = false
        for p in packets {
            let flags = TCPFlags(rawValue: max(0, p.flags))
            if flags.contains(.syn) && !flags.contains(.ack) {
                let n = number(p)
                let newNumber = isn != nil && n != nil && n != isn
                // Without numbers, a SYN after the last attempt ended (RST or FIN) is a new one.
                if synSeen && (newNumber || (n == nil && ended)) {
                    out.append(current); current = []; ended = false
                }
                synSeen = true
                if current.isEmpty || isn == nil || newNumber { isn = n }
            }
            if flags.contains(.rst) || flags.contains(.fin) { ended = true }
            current.append(p)
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    /// What the same connection is called at every capture point: its opening SYN's number when every
    /// point shows raw numbers (a capture point that missed one of the connections still pairs the rest
    /// right), else its place in the order (an export with relative numbers beside its capture).
    static func identities(_ split: [Int64: [[PacketFacts]]]) -> [Int64: [String]] {
        func isn(_ part: [PacketFacts]) -> Int64? {
            part.first { p in let f = TCPFlags(rawValue: max(0, p.flags)); return f.contains(.syn) && !f.contains(.ack) }.flatMap(number)
        }
        let raw = split.values.allSatisfy { $0.allSatisfy { isn($0) != nil } }
        return split.mapValues { parts in parts.enumerated().map { i, part in raw ? "isn \(isn(part)!)" : "#\(i)" } }
    }
}
