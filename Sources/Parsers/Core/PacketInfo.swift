import TraceModel

/// Reads Wireshark's Info column: `59193 > 3389 [SYN] Seq=3976196062 Win=8192 Len=0 MSS=1380 WS=256`.
///
/// Known shapes: ports as numbers or service names (`rmiactivation > http`), `>` in old Wireshark and
/// `→` in tshark 4; flags in brackets (`[SYN, ACK]`); `key=value` fields (Seq, Ack, Win, Len, MSS, WS,
/// TSV/TSER and TSval/TSecr, SLE/SRE); expert notes in brackets anywhere (`[TCP Retransmission]`,
/// `[TCP Dup ACK 12#1]`, `[TCP CHECKSUM INCORRECT]` even between fields); application summaries
/// (TLS, HTTP, TDS) carry none of these and are kept as the summary only.
struct PacketInfo {
    var srcPort: Int32 = -1
    var dstPort: Int32 = -1
    var flags: Int = -1
    var seq: Int64 = EventRecord.none
    var ack: Int64 = EventRecord.none
    var len: Int64 = EventRecord.none
    var win: Int64 = EventRecord.none
    var mss: Int64 = EventRecord.none
    var ws: Int64 = EventRecord.none
    var tsval: Int64 = EventRecord.none
    var tsecr: Int64 = EventRecord.none
    var expert: Int = 0
    var sackPermitted = false
    /// SACK blocks (`SLE=1742 SRE=2328`): the receiver has these bytes although earlier ones are missing.
    var sack: [(Int64, Int64)] = []

    var hasTCPFields: Bool { flags >= 0 || seq != EventRecord.none }

    /// `tokens` are the Info column's tokens within `b`.
    init(_ b: UnsafeBufferPointer<UInt8>, tokens: ArraySlice<Token>, services: ServiceNames) {
        var i = tokens.startIndex
        let end = tokens.endIndex
        var sawPorts = false
        while i < end {
            let t = tokens[i]
            let first = b[t.start]
            if first == ASCII.lbracket {
                // A bracket group may span tokens: `[TCP Dup ACK 12#1]`, `[SYN, ACK]`.
                var j = i
                while j < end && b[tokens[j].end - 1] != ASCII.rbracket { j += 1 }
                if j == end { j = end - 1 }
                let inner = (tokens[i].start + 1, b[tokens[j].end - 1] == ASCII.rbracket ? tokens[j].end - 1 : tokens[j].end)
                readBracket(b, inner.0, inner.1)
                // `[TCP CHECKSUM INCORRECT]Flags=` style glue: continue after the bracket inside the token.
                i = j + 1
                continue
            }
            if !sawPorts && i + 2 < end && isArrow(b, tokens[i + 1]),
               let sp = PacketInfo.port(b, t, services), let dp = PacketInfo.port(b, tokens[i + 2], services) {
                srcPort = sp
                dstPort = dp
                sawPorts = true
                i += 3
                continue
            }
            if let eq = firstIndex(b, of: ASCII.equals, t) {
                readField(b, key: Token(t.start, eq), value: Token(eq + 1, t.end))
            } else if b.equals(t, "SACK_PERM") {
                sackPermitted = true
            }
            i += 1
        }
    }

    /// A port number, or a service name looked up (the slow path, only for names).
    static func port(_ b: UnsafeBufferPointer<UInt8>, _ t: Token, _ services: ServiceNames) -> Int32? {
        if let v = b.uint(t) { return v <= 65535 ? Int32(v) : nil }
        guard ASCII.isLetter(b[t.start]) else { return nil }
        return services.port(b.substring(t))
    }

    /// The flag bit of a Wireshark flag name, compared as bytes.
    static func flagBit(_ b: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int) -> Int? {
        guard e - s == 3 else { return nil }
        let w = UInt32(b[s]) << 16 | UInt32(b[s + 1]) << 8 | UInt32(b[s + 2])
        switch w {
        case 0x46494E: return TCPFlags.fin.rawValue // FIN
        case 0x53594E: return TCPFlags.syn.rawValue // SYN
        case 0x525354: return TCPFlags.rst.rawValue // RST
        case 0x505348: return TCPFlags.psh.rawValue // PSH
        case 0x41434B: return TCPFlags.ack.rawValue // ACK
        case 0x555247: return TCPFlags.urg.rawValue // URG
        case 0x45434E, 0x454345: return TCPFlags.ece.rawValue // ECN, ECE
        case 0x435752: return TCPFlags.cwr.rawValue // CWR
        default: return nil
        }
    }

    private func isArrow(_ b: UnsafeBufferPointer<UInt8>, _ t: Token) -> Bool {
        // `>` or U+2192 `→` (E2 86 92).
        (t.count == 1 && b[t.start] == ASCII.gt) || (t.count == 3 && b[t.start] == 0xE2 && b[t.start + 1] == 0x86 && b[t.start + 2] == 0x92)
    }

    private func firstIndex(_ b: UnsafeBufferPointer<UInt8>, of byte: UInt8, _ t: Token) -> Int? {
        var k = t.start
        while k < t.end { if b[k] == byte { return k }; k += 1 }
        return nil
    }

    private mutating func readField(_ b: UnsafeBufferPointer<UInt8>, key: Token, value: Token) {
        guard let v = b.uint(value) else { return }
        switch key.count {
        case 2:
            if b.equals(key, "WS") { ws = v }
        case 3:
            if b.equals(key, "SLE") { sack.append((v, v)) }
            else if b.equals(key, "SRE"), !sack.isEmpty { sack[sack.count - 1].1 = v }
            else if b.equals(key, "Seq") { seq = v }
            else if b.equals(key, "Ack") { ack = v }
            else if b.equals(key, "Win") { win = v }
            else if b.equals(key, "Len") { len = v }
            else if b.equals(key, "MSS") { mss = v }
            else if b.equals(key, "TSV") { tsval = v }
        case 4:
            if b.equals(key, "TSER") { tsecr = v }
        case 5:
            if b.equals(key, "TSval") { tsval = v }
            else if b.equals(key, "TSecr") { tsecr = v }
        default:
            break
        }
    }

    private mutating func readBracket(_ b: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int) {
        guard e > s else { return }
        // Flags: every comma-separated part is a flag name.
        var f = 0
        var allFlags = true
        var partStart = s
        var k = s
        while k <= e {
            if k == e || b[k] == ASCII.comma {
                var ps = partStart, pe = k
                while ps < pe && ASCII.isSpace(b[ps]) { ps += 1 }
                while pe > ps && ASCII.isSpace(b[pe - 1]) { pe -= 1 }
                if let bit = PacketInfo.flagBit(b, ps, pe) {
                    f |= bit
                } else {
                    allFlags = false
                    break
                }
                partStart = k + 1
            }
            k += 1
        }
        if allFlags && f != 0 {
            flags = f
            return
        }
        let text = b.string(s, e)
        for (note, bits) in TCPExpert.wiresharkNotes where text.hasPrefix(note) {
            expert |= bits.rawValue
            return
        }
    }
}
