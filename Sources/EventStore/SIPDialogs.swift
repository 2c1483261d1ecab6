import GRDB
import TraceModel

/// One SIP message event as `sip` reads it: where it is, when (aligned), and what its attrs say.
public struct SIPMessage: Sendable, Equatable {
    public var source: Int64
    public var line: Int
    /// Aligned ns.
    public var ts: Int64
    public var method: String?
    public var status: Int?
    public var reason: String?
    public var cseq: Int64?
    public var cseqMethod: String?
}

/// A Call-ID's messages: its first request and the final response (2xx–6xx) to that request's transaction.
public struct SIPDialog: Sendable {
    public var callID: String
    public var request: SIPMessage
    public var final: SIPMessage?
    /// Messages with this Call-ID, every source together.
    public var messages: Int
    public var responseTime: Int64? { final.map { $0.ts - request.ts } }
}

extension Store {
    /// SIP messages grouped by Call-ID (the attrs the SIP parsers write: `call_id`, `method`, `status`,
    /// `cseq`, `cseq_method`, `message_type`), in time order of their first request; and the responses that
    /// carry no Call-ID (a copied record cut short), which no dialog can claim.
    ///
    /// A final response belongs to the first request when its CSeq number and method are that request's
    /// (RFC 3261 17.1.3 also wants the Via branch; the logs read so far do not always keep one). Provisional
    /// responses (1xx) are not final. A message two sources logged counts once per source.
    public func sipDialogs() throws -> (dialogs: [SIPDialog], withoutCallID: [SIPMessage]) {
        let clocks = Dictionary(uniqueKeysWithValues: try sources().map { ($0.id, $0.clock) })
        var byCall: [String: [SIPMessage]] = [:]
        var orphans: [SIPMessage] = []
        try db.read { db in
            // message_type: protocol records only (a diagnostic record names a message, it is not one).
            let rows = try Row.fetchCursor(db, sql: """
                SELECT source, line, ts, json_extract(attrs, '$.call_id'), json_extract(attrs, '$.method'), json_extract(attrs, '$.status'),
                       json_extract(attrs, '$.reason'), json_extract(attrs, '$.cseq'), json_extract(attrs, '$.cseq_method')
                FROM event WHERE label = 'SIP' AND attrs IS NOT NULL AND json_extract(attrs, '$.message_type') IS NOT NULL
                """)
            while let r = try rows.next() {
                let source: Int64 = r[0]
                let m = SIPMessage(source: source, line: r[1], ts: (clocks[source] ?? SourceClock()).aligned(r[2]), method: r[4], status: r[5],
                                   reason: r[6], cseq: r[7], cseqMethod: r[8])
                guard m.method != nil || m.status != nil else { continue }
                if let id: String = r[3] { byCall[id, default: []].append(m) } else if m.status != nil { orphans.append(m) }
            }
        }
        var out: [SIPDialog] = []
        for (id, messages) in byCall {
            let sorted = messages.sorted { ($0.ts, $0.source, $0.line) < ($1.ts, $1.source, $1.line) }
            guard let request = sorted.first(where: { $0.method != nil }) else { continue }
            let final = sorted.first { m in
                guard let s = m.status, s >= 200, let c = m.cseq, c == request.cseq else { return false }
                return m.cseqMethod == nil || request.cseqMethod == nil || m.cseqMethod == request.cseqMethod
            }
            out.append(SIPDialog(callID: id, request: request, final: final, messages: messages.count))
        }
        out.sort { ($0.request.ts, $0.callID) < ($1.request.ts, $1.callID) }
        return (out, orphans.sorted { ($0.ts, $0.source, $0.line) < ($1.ts, $1.source, $1.line) })
    }
}

/// One message of a dialog, for its ladder: who sent it to whom, as far as the log says.
public struct SIPLadderMessage: Sendable {
    public var message: SIPMessage
    public var from: String?
    public var to: String?
    public var host: String
}

extension Store {
    /// Every message of one Call-ID, from every source, in aligned time order.
    public func sipMessages(callID: String) throws -> [SIPLadderMessage] {
        let sources = Dictionary(uniqueKeysWithValues: try self.sources().map { ($0.id, $0) })
        return try db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT e.source, e.line, e.ts, json_extract(e.attrs, '$.method'), json_extract(e.attrs, '$.status'), json_extract(e.attrs, '$.reason'),
                       json_extract(e.attrs, '$.cseq'), json_extract(e.attrs, '$.cseq_method'), sa.text, e.sport, da.text, e.dport
                FROM event e LEFT JOIN address sa ON sa.id = e.src LEFT JOIN address da ON da.id = e.dst
                WHERE e.label = 'SIP' AND e.attrs IS NOT NULL AND json_extract(e.attrs, '$.call_id') = ?
                  AND json_extract(e.attrs, '$.message_type') IS NOT NULL
                """, arguments: [callID]).map { r in
                let source: Int64 = r[0]
                let m = SIPMessage(source: source, line: r[1], ts: (sources[source]?.clock ?? SourceClock()).aligned(r[2]), method: r[3], status: r[4],
                                   reason: r[5], cseq: r[6], cseqMethod: r[7])
                func end(_ a: String?, _ p: Int?) -> String? { a.map { StoredEvent.endpoint($0, p) } }
                return SIPLadderMessage(message: m, from: end(r[8], r[9]), to: end(r[10], r[11]), host: sources[source]?.host ?? "?")
            }.sorted { ($0.message.ts, $0.message.source, $0.message.line) < ($1.message.ts, $1.message.source, $1.message.line) }
        }
    }
}
