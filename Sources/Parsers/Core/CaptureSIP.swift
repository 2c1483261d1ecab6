import TraceModel

/// SIP carried in a capture's UDP datagrams and TCP segments, read into the same attrs the SIP log parsers
/// write (`SIPDumpText.sipAttrs`: call_id, cseq, method/status, tags, Via, SDP media), so that a capture
/// and a SIP log of the same call join in `tracejoin sip` and the media findings — and the packet is
/// labelled `SIP` with tshark's Info text (`Request: INVITE sip:…`, `Status: 200 OK`), as its export says.
///
/// UDP: one datagram, one message. TCP: a message may span segments (an INVITE with SDP over a small MSS)
/// and a segment may end one message and start the next, so each direction of a connection keeps the bytes
/// of a message begun and not yet whole; the message is the event of the segment that completes it, as
/// Wireshark shows a reassembled PDU on its last segment. Content-Length says where a message ends (RFC
/// 3261 18.3: mandatory over TCP). Retransmitted bytes are not fed twice; a gap drops what was held.
struct CaptureSIP {
    /// One direction of a TCP connection.
    private struct Half: Hashable {
        let src: Address, sport: Int32, dst: Address, dport: Int32
    }
    private struct Pending {
        var next: Int64          // the sequence number the next segment should start at
        var bytes: [UInt8]
    }
    private var pending: [Half: Pending] = [:]
    /// What one direction may hold: a SIP message is a few KiB; more is not SIP or not whole.
    static let maxHeld = 64 << 10
    static let version = Array("SIP/2.0".utf8)

    /// Reads the packet's payload; on a whole SIP message fills its attrs into `r` and returns the Info text.
    mutating func inspect(_ r: inout EventRecord, payload: UnsafeBufferPointer<UInt8>, retransmission: Bool) -> String? {
        guard let src = r.src, let dst = r.dst else { return nil }
        if r.proto == IPProto.udp {
            guard CaptureSIP.startsMessage(payload) else { return nil }
            return describe(&r, payload, transport: "UDP")
        }
        guard r.proto == IPProto.tcp, r.seqRaw != EventRecord.none else { return nil }
        // Most captures hold no SIP: then a segment costs a look at its first bytes, no hashing.
        if pending.isEmpty && (payload.isEmpty || retransmission || !CaptureSIP.startsMessage(payload)) { return nil }
        let half = Half(src: src, sport: r.srcPort, dst: dst, dport: r.dstPort)
        let flags = TCPFlags(rawValue: r.flags)
        if flags.contains(.rst) || flags.contains(.fin) && payload.isEmpty { pending[half] = nil }
        guard !payload.isEmpty, !retransmission else { return nil }
        var held: [UInt8]
        if var p = pending.removeValue(forKey: half) {
            guard r.seqRaw == p.next else {
                // A gap: what was held can no longer be made whole. The segment may begin a message itself.
                return CaptureSIP.startsMessage(payload) ? take(&r, Array(payload), half: half) : nil
            }
            p.bytes.append(contentsOf: payload)
            held = p.bytes
        } else {
            guard CaptureSIP.startsMessage(payload) else { return nil }
            held = Array(payload)
        }
        return take(&r, held, half: half)
    }

    /// The whole messages at the front of `held` (the first becomes the event), the rest kept for later.
    private mutating func take(_ r: inout EventRecord, _ held: [UInt8], half: Half) -> String? {
        var at = 0
        var info: String? = nil
        while at < held.count {
            guard let end = held.withUnsafeBufferPointer({ CaptureSIP.messageEnd(UnsafeBufferPointer(rebasing: $0[at...])) }) else { break }
            if info == nil {
                info = held.withUnsafeBufferPointer { describe(&r, UnsafeBufferPointer(rebasing: $0[at ..< at + end]), transport: "TCP") }
            }
            at += end
            // Keep-alive CRLFs (RFC 5626 4.4.1) between messages.
            while at < held.count && (held[at] == 0x0D || held[at] == 0x0A) { at += 1 }
        }
        let rest = held.count - at
        if rest > 0 && rest <= CaptureSIP.maxHeld {
            let restStarts = held.withUnsafeBufferPointer { CaptureSIP.startsMessage(UnsafeBufferPointer(rebasing: $0[at...])) }
            if restStarts || at == 0 {
                pending[half] = Pending(next: (r.seqRaw + r.len) & 0xFFFF_FFFF, bytes: Array(held[at...]))
            }
        }
        return info
    }

    /// A SIP start line at the front: `SIP/2.0 200 OK` or `INVITE sip:… SIP/2.0`, ended by CRLF. (A segment
    /// cut before its first line end is taken when it begins like one: the next segments complete it.)
    static func startsMessage(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard b.count >= 8, b[0] >= UInt8(ascii: "A"), b[0] <= UInt8(ascii: "Z") else { return false }
        // Runs for every TCP and UDP payload that begins with a capital (HTTP, SMTP…): compares in place.
        let version = CaptureSIP.version
        func isVersion(at i: Int) -> Bool {
            guard i >= 0, i + version.count <= b.count else { return false }
            for k in 0..<version.count where b[i + k] != version[k] { return false }
            return true
        }
        if isVersion(at: 0) && b[version.count] == UInt8(ascii: " ") { return true }
        let limit = min(b.count, 1024)
        var k = 0
        while k < limit && b[k] != 0x0D && b[k] != 0x0A { k += 1 }
        guard k < limit else { return false }
        // `METHOD SP Request-URI SP SIP/2.0`
        guard k >= version.count + 4, isVersion(at: k - version.count), b[k - version.count - 1] == UInt8(ascii: " ") else { return false }
        var m = 0
        while m < k && b[m] >= UInt8(ascii: "A") && b[m] <= UInt8(ascii: "Z") { m += 1 }
        return m > 0 && b[m] == UInt8(ascii: " ")
    }

    /// The length of the whole message at the front of `b` (headers, blank line, Content-Length bytes), or
    /// nil while it is not all there.
    static func messageEnd(_ b: UnsafeBufferPointer<UInt8>) -> Int? {
        var k = 0, lineStart = 0
        var contentLength = 0
        while k < b.count {
            guard b[k] == 0x0A else { k += 1; continue }
            var lineEnd = k
            if lineEnd > lineStart && b[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            if lineEnd == lineStart {
                let end = k + 1 + contentLength
                return end <= b.count ? end : nil
            }
            if let colon = SIPStackText.fieldColon(UnsafeBufferPointer(rebasing: b[lineStart ..< lineEnd])) {
                let name = b.string(lineStart, lineStart + colon).lowercased()
                if name == "content-length" || name == "l" {
                    var v = lineStart + colon + 1
                    while v < lineEnd && ASCII.isSpace(b[v]) { v += 1 }
                    var n = 0
                    while v < lineEnd, b[v] >= 0x30, b[v] <= 0x39, n < 1 << 24 { n = n * 10 + Int(b[v] - 0x30); v += 1 }
                    contentLength = n
                }
            }
            k += 1
            lineStart = k
        }
        return nil
    }

    /// One message's attrs into the packet's event; its Info text back.
    private func describe(_ r: inout EventRecord, _ b: UnsafeBufferPointer<UInt8>, transport: String) -> String? {
        var m = SIPDumpText.Message()
        var lineStart = 0, k = 0
        while k <= b.count {
            guard k == b.count || b[k] == 0x0A else { k += 1; continue }
            var lineEnd = k
            if lineEnd > lineStart && b[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            if lineEnd == lineStart {
                if k < b.count { m.blank() }
            } else {
                m.read(UnsafeBufferPointer(rebasing: b[lineStart ..< lineEnd]), offset: lineStart)
            }
            k += 1
            lineStart = k
        }
        guard let start = m.startLine else { return nil }
        var attrs = SIPDumpText.sipAttrs(m).attrs
        attrs.insert("\"transport\":" + jsonString(transport), at: 0)
        if !m.complete { attrs.append("\"truncated\":true") }
        // The packet's own attrs (a SYN's window scale: not with SIP in practice) stay beside them.
        if let own = r.attrs, own.count > 2 { attrs.insert(String(own.dropFirst().dropLast()), at: 0) }
        r.attrs = "{" + attrs.joined(separator: ",") + "}"
        switch SIPText.startLine(start) {
        case .request?: return "Request: " + start.replacingOccurrences(of: " SIP/2.0", with: "")
        case .response(let status, _)?:
            // Wireshark names the request a success answers: `Status: 200 OK (INVITE)`.
            let method = (200..<300).contains(status) ? m.f["cseq"]?.split(separator: " ").last.map { " (\($0))" } ?? "" : ""
            return "Status: " + start.replacingOccurrences(of: "SIP/2.0 ", with: "") + method
        case nil: return nil
        }
    }
}
