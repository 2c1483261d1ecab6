import TraceModel

/// What pcap and pcapng readers share: a carry buffer so blocks may straddle chunks, the packet
/// decoder, and the text each packet gets (`frame` `protocol` `summary`, stored once like a text
/// export's line).
struct CaptureStream {
    private(set) var buffer: [UInt8] = []
    /// Offset in the file of `buffer[0]`.
    private(set) var bufferOffset: Int = 0
    var decoder = PacketDecoder()
    var frames: Int64 = 0
    var digits = 0
    var unsupportedLinkTypes: Set<UInt32> = []
    private var line = TextBuilder()
    private var analyzer = TCPAnalyzer()
    /// SIP messages in UDP and TCP payloads, TCP ones reassembled.
    private var sip = CaptureSIP()
    /// Connections that ended, with when: their state is dropped two minutes (capture time) later, so
    /// memory follows the connections open at a time, not all a capture ever saw, while stray packets
    /// soon after the end (the peer's last ACKs) are still numbered as Wireshark numbers them.
    private var closed: [(ts: Int64, packet: EventRecord)] = []
    private var closedHead = 0
    static let forgetAfter: Int64 = 120 * 1_000_000_000

    /// Drops the state of connections that ended long enough before `now`.
    private mutating func expire(now: Int64) {
        while closedHead < closed.count && closed[closedHead].ts < now - CaptureStream.forgetAfter {
            let old = closed[closedHead].packet
            analyzer.forget(old)
            decoder.forget(old)
            closedHead += 1
        }
        if closedHead > 4096 {
            closed.removeFirst(closedHead)
            closedHead = 0
        }
    }

    /// Takes the carried bytes (moved, not copied) for `feed` to complete; given back with `keep`.
    fileprivate mutating func takeCarry() -> [UInt8] {
        var out: [UInt8] = []
        swap(&out, &buffer)
        return out
    }

    fileprivate mutating func keep(_ carry: [UInt8]) { buffer = carry }

    /// The reader used `n` bytes of what it was given: the next bytes start that much further in the file.
    fileprivate mutating func advance(_ n: Int) { bufferOffset += n }

    /// Decodes one packet and hands its event to the sink.
    mutating func packet(_ data: UnsafeBufferPointer<UInt8>, linkType: UInt32, wireLength: Int, ts: Int64, offset: Int, sink: CaptureSink,
                         comment: String? = nil) {
        sink.rawPacket(ts: ts, linkType: linkType, data: data, wireLength: wireLength)
        frames += 1
        expire(now: ts)
        var r = EventRecord(line: Int(frames), ordinal: frames, ts: ts, kind: .packet, rawAt: 0, rawLen: 0)
        guard var (label, summary) = decoder.decode(into: &r, linkType: linkType, data, wireLength: wireLength) else {
            if !unsupportedLinkTypes.contains(linkType) {
                unsupportedLinkTypes.insert(linkType)
                sink.unparsed(UnparsedLine(line: offset, reason: "byte offset \(offset): link type \(linkType) not supported; its packets are skipped", raw: ""))
            }
            return
        }
        let dup = analyzer.analyze(&r, ws: decoder.lastWindowScale)
        if analyzer.lastClosed { closed.append((r.ts, r)) }
        if let range = decoder.payload, r.proto == IPProto.udp || r.proto == IPProto.tcp,
           let info = sip.inspect(&r, payload: UnsafeBufferPointer(rebasing: data[range]),
                                  retransmission: !TCPExpert(rawValue: r.expert).isDisjoint(with: [.retransmission, .fastRetransmission, .spuriousRetransmission])) {
            label = "SIP"
            summary = info
        }
        // The packet's stored line: `frame label [notes] summary`.
        line.reset()
        line.append(frames); line.append(" "); line.append(text: label); line.append(" ")
        r.summaryAt = line.count
        if r.expert != 0 { TCPAnalyzer.notes(TCPExpert(rawValue: r.expert), dup: dup, into: &line) }
        if let summary { line.append(text: summary) } else { decoder.appendSummary(to: &line) }
        r.rawLen = line.count
        line.append("\n")
        r.rawAt = line.withBytes { sink.appendText($0) }
        r.label = label
        if let comment {
            // Kept beside the packet's own attributes (the pcapng comment a colleague left on it).
            let c = "\"comment\":" + jsonString(comment)
            r.attrs = r.attrs.map { String($0.dropLast()) + "," + c + "}" } ?? "{" + c + "}"
        }
        sink.emit(r)
    }

    /// What a capture's source facts say: capture times are absolute, as fine as the file writes them.
    var facts: SourceFacts {
        var f = SourceFacts()
        f.timeBasis = .absolute
        f.timeDigits = digits
        f.notes["packets"] = String(frames)
        return f
    }

    /// Bytes left over at the end: a packet or block cut short.
    func finish(into sink: CaptureSink, what: String) {
        if !buffer.isEmpty {
            sink.unparsed(UnparsedLine(line: bufferOffset, reason: "byte offset \(bufferOffset): \(buffer.count) bytes at the end are not a whole \(what) (file cut short?)", raw: ""))
        }
    }
}

/// A capture reader that walks whole records (blocks) of a byte buffer and says how many bytes it used.
protocol CaptureRecordReader {
    var stream: CaptureStream { get set }
    /// Reads whole records from `b` (which starts at `stream.bufferOffset` in the file); returns the bytes used.
    mutating func read(_ b: UnsafeBufferPointer<UInt8>, _ sink: CaptureSink) -> Int
}

extension CaptureRecordReader {
    /// Reads a chunk in place: only a record that straddles two chunks is copied (into the carry buffer),
    /// not every chunk (a copy of the whole file was 7 % of reading a pcap).
    mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>, into sink: CaptureSink) {
        var pos = 0
        var carry = stream.takeCarry()
        if !carry.isEmpty {
            // Complete the carried record with as few of the chunk's bytes as it needs, a growing piece at a time.
            var step = 4096
            while pos < chunk.count {
                let n = min(step, chunk.count - pos)
                carry.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[pos..<(pos + n)]))
                pos += n
                let used = carry.withUnsafeBufferPointer { read($0, sink) }
                if used == 0 { step *= 2; continue }
                stream.advance(used)
                let left = carry.count - used
                if left <= n {
                    // All that is left came from this chunk: read it there.
                    pos -= left
                    carry.removeAll(keepingCapacity: true)
                    break
                }
                carry.removeFirst(used)
            }
        }
        if carry.isEmpty && pos < chunk.count {
            let rest = UnsafeBufferPointer(rebasing: chunk[pos...])
            let used = read(rest, sink)
            stream.advance(used)
            carry.append(contentsOf: UnsafeBufferPointer(rebasing: rest[used...]))
        }
        stream.keep(carry)
    }
}
