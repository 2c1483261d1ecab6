import Foundation
import TraceModel
import EventStore
import Timeline

/// Plain-language lines for a connection's lifecycle, and its JSON.
public enum LifecycleText {
    static func seconds(_ ns: Int64) -> String { String(format: "%.3f s", Double(ns) / 1e9) }
    static func ms(_ ns: Int64) -> String { String(format: "%.1f ms", Double(ns) / 1e6) }

    public static func lines(_ l: Lifecycle, time: (Int64) -> String) -> [String] {
        var out: [String] = []
        let who = l.originatorGuessed ? "first packet seen from \(l.originator) (no SYN captured)" : "opened by \(l.originator)"
        out.append("\(who) → \(l.responder)" + (l.synAt.map { " at \(time($0))" } ?? ""))
        if l.synRetransmissions > 0 { out.append("SYN sent again \(l.synRetransmissions) time(s)") }
        if let a = l.synToSynAckNS {
            var h = "handshake: SYN→SYN/ACK \(ms(a))"
            if let b = l.synAckToAckNS { h += ", SYN/ACK→ACK \(ms(b)), total \(ms(a + b))" } else { h += ", no ACK of the SYN/ACK seen" }
            out.append(h)
        } else if l.synAt != nil {
            out.append("handshake: SYN never answered with SYN/ACK")
        }
        out.append("\(l.originator) → \(l.responder): \(l.orig.packets) packets, \(l.orig.bytes) bytes, \(l.orig.retransmissions) retransmissions")
        out.append("\(l.responder) → \(l.originator): \(l.resp.packets) packets, \(l.resp.bytes) bytes, \(l.resp.retransmissions) retransmissions")
        switch l.end {
        case "rst": out.append("ended by RST from \(l.endBy ?? "?") at \(l.endAt.map(time) ?? "?")")
        case "refused": out.append("refused: RST from \(l.endBy ?? "?") answered the SYN at \(l.endAt.map(time) ?? "?")")
        case "fin": out.append("closed by FIN, first from \(l.endBy ?? "?") at \(l.endAt.map(time) ?? "?")")
        default: out.append("no end seen (no FIN or RST in the capture)")
        }
        out.append("duration \(seconds(l.durationNS)); conn_state \(l.connState), history \(l.history)")
        out.append("counted at \(l.vantage); seen by " + l.seenBy.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }.joined(separator: ", "))
        return out
    }

    public static func json(_ l: Lifecycle, time: (Int64) -> String) -> String {
        var o = JSONObject()
        o.add("originator", l.originator)
        o.add("responder", l.responder)
        o.add("originator_guessed", l.originatorGuessed)
        o.add("opened_at", l.synAt.map(time))
        o.add("first", time(l.first))
        o.add("last", time(l.last))
        o.add("duration_s", Double(l.durationNS) / 1e9)
        o.add("syn_retransmissions", l.synRetransmissions)
        o.add("syn_to_synack_ms", l.synToSynAckNS.map { Double($0) / 1e6 })
        o.add("synack_to_ack_ms", l.synAckToAckNS.map { Double($0) / 1e6 })
        o.add("handshake_rtt_ms", l.synToSynAckNS.flatMap { a in l.synAckToAckNS.map { Double(a + $0) / 1e6 } })
        o.add("handshake_completed", l.handshakeCompleted)
        var orig = JSONObject(); orig.add("packets", l.orig.packets); orig.add("bytes", l.orig.bytes); orig.add("retransmissions", l.orig.retransmissions)
        var resp = JSONObject(); resp.add("packets", l.resp.packets); resp.add("bytes", l.resp.bytes); resp.add("retransmissions", l.resp.retransmissions)
        o.add("orig", raw: orig.text)
        o.add("resp", raw: resp.text)
        o.add("end", l.end)
        o.add("end_by", l.endBy)
        o.add("end_at", l.endAt.map(time))
        o.add("conn_state", l.connState)
        o.add("history", l.history)
        o.add("vantage", l.vantage)
        var seen = JSONObject()
        for (h, n) in l.seenBy.sorted(by: { $0.key < $1.key }) { seen.add(h, n) }
        o.add("seen_by", raw: seen.text)
        return o.text
    }
}
