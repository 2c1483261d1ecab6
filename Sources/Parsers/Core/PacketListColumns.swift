/// The columns of a Wireshark packet list, as its header line names them.
///
/// Wireshark lets users add any column; these are the ones the seeds and tshark's defaults show.
/// Unknown columns are kept as `.other` so the values after them still land in the right place.
public enum PacketColumn: Equatable, Sendable {
    case number
    /// A time column and how its seconds count.
    case time(TimeColumn)
    case source, destination, protocolName, length, info
    case ipID, srcPort, dstPort, seq, tcpLen, tcpAck, tcpWin
    case other(String)

    /// How many whitespace-separated tokens a value of this column takes in a text export when it is
    /// present; time values may take two (date and time), which the row reader decides.
    var tokens: Int {
        switch self {
        case .ipID: return 2 // `0x58ba (22714)`
        default: return 1
        }
    }
}

public enum TimeColumn: Equatable, Sendable {
    /// "Time": absolute, time of day, relative or delta, as the format of its values and their order say.
    case auto
    /// "Delta", "Delta time displayed": seconds since the previous (displayed) packet.
    case delta
    /// "Time since", "Time since reference or first frame": seconds since the start.
    case since
}

enum PacketColumns {
    /// Column titles, multi-word ones first so the longest match wins. Compared case-insensitively.
    static let titles: [([String], PacketColumn)] = [
        (["time", "since", "reference", "or", "first", "frame"], .time(.since)),
        (["time", "delta", "from", "previous", "displayed", "frame"], .time(.delta)),
        (["time", "delta", "from", "previous", "captured", "frame"], .time(.delta)),
        (["delta", "time", "displayed"], .time(.delta)),
        (["delta", "time"], .time(.delta)),
        (["time", "since"], .time(.since)),
        (["acknowledgment", "number"], .tcpAck),
        (["ack", "number"], .tcpAck),
        (["sequence", "number"], .seq),
        (["tcp", "segment", "len"], .tcpLen),
        (["tcp", "len"], .tcpLen),
        (["tcp", "ack"], .tcpAck),
        (["tcp", "win"], .tcpWin),
        (["source", "port"], .srcPort),
        (["destination", "port"], .dstPort),
        (["src", "port"], .srcPort),
        (["dst", "port"], .dstPort),
        (["no."], .number),
        (["time"], .time(.auto)),
        (["delta"], .time(.delta)),
        (["source"], .source),
        (["destination"], .destination),
        (["protocol"], .protocolName),
        (["length"], .length),
        (["info"], .info),
        (["identification"], .ipID),
        (["s-port"], .srcPort),
        (["d-port"], .dstPort),
        (["sequence"], .seq),
    ]

    /// Matches a column title at `words[i...]`; returns the column and how many words it used.
    static func match(_ words: [String], at i: Int) -> (PacketColumn, Int)? {
        for (title, col) in titles where i + title.count <= words.count {
            var ok = true
            for k in 0..<title.count where words[i + k].lowercased() != title[k] { ok = false; break }
            if ok { return (col, title.count) }
        }
        return nil
    }

    /// Columns from header words (`No. Time Delta Source Destination Protocol Length Info`), and how many
    /// words the header used; nil unless the words start with `No.` and name at least Source and Destination.
    static func parseHeader(_ words: [String]) -> (columns: [PacketColumn], used: Int)? {
        guard let first = words.first, first == "No." else { return nil }
        var cols: [PacketColumn] = []
        var i = 0
        while i < words.count {
            if let (c, n) = match(words, at: i) {
                cols.append(c)
                i += n
                if c == .info { break }
                continue
            }
            // An unknown custom column title: a capitalised word before Info.
            let w = words[i]
            if let f = w.unicodeScalars.first, f.properties.isUppercase, !cols.contains(.info), w.count < 30 {
                cols.append(.other(w))
                i += 1
                continue
            }
            break
        }
        guard cols.contains(.source), cols.contains(.destination) else { return nil }
        return (cols, i)
    }
}
