import ArgumentParser
import Foundation
import TraceModel
import EventStore
import Timeline
import Render

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Hand the store to the tools next door: events as NDJSON or CSV, connections as a Zeek conn.log, captures as one pcapng.",
        discussion: """
        ndjson and csv: every event on the aligned clock, as `timeline --json` and `--csv` print them. zeek-conn: \
        one row per connection (each connection of a reused tuple its own) in Zeek's conn.log TSV, with its \
        #fields/#types header and a community_id column, for zeek-cut and the tools that read Zeek logs. pcapng: \
        every pcap/pcapng source read again from its file, merged on the aligned clock, one interface per \
        capture point (needs --out).
        """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case ndjson, csv, zeekConn = "zeek-conn", pcapng }

    @OptionGroup var store: StoreOptions
    @Option(help: "ndjson, csv or zeek-conn.") var format: Format
    @Option(help: ArgumentHelp("Write here instead of standard output.", valueName: "file")) var out: String?

    func validate() throws {
        if format == .pcapng && out == nil { throw ValidationError("--format pcapng writes a binary file: give --out FILE") }
    }

    func run() throws {
        let s = try store.openSolved()
        if let out {
            guard FileManager.default.createFile(atPath: out, contents: nil), let h = FileHandle(forWritingAtPath: out) else {
                throw CLIError("cannot write \(out)")
            }
            dup2(h.fileDescriptor, STDOUT_FILENO)
        }
        switch format {
        case .ndjson, .csv:
            try TimelinePrinter.print(store: s, filter: EventFilter(), formatter: try EventFormatter(store: s), json: format == .ndjson, csv: format == .csv, limit: nil)
        case .zeekConn:
            try ZeekConnLog.write(s)
        case .pcapng:
            let r = try PcapngExport.write(s, to: FileHandle.standardOutput)
            for p in r.skipped { FileHandle.standardError.write(Data("tracejoin: \(p) cannot be read again (moved?): its packets are not in the pcapng\n".utf8)) }
            FileHandle.standardError.write(Data("tracejoin: \(r.packets) packets from \(r.interfaces) capture points written to \(out ?? "-")\n".utf8))
        }
        fflush(stdout)
    }
}

/// Connections as Zeek writes conn.log (TSV): the header lines, then one row per connection.
enum ZeekConnLog {
    static let fields = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration", "orig_bytes", "resp_bytes",
                         "conn_state", "local_orig", "local_resp", "missed_bytes", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes",
                         "tunnel_parents", "community_id"]
    static let types = ["time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count", "count",
                        "string", "bool", "bool", "count", "string", "count", "count", "count", "count", "set[string]", "string"]

    /// Zeek's `C…` uids are random; ours are the connection key (and instance) in base 62, the same each time.
    static func uid(_ key: Int64, _ n: Int) -> String {
        let digits = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        var v = UInt64(bitPattern: key) &+ UInt64(n), s = ""
        repeat { s.append(digits[Int(v % 62)]); v /= 62 } while v > 0
        return "C" + s
    }

    static func write(_ store: Store) throws {
        func stamp() -> String {
            let f = DateFormatter(); f.locale = Locale(identifier: "en_US_POSIX"); f.timeZone = TimeZone(identifier: "UTC")
            f.dateFormat = "yyyy-MM-dd-HH-mm-ss"; return f.string(from: Date())
        }
        var lines = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-", "#path\tconn", "#open\t\(stamp())",
                     "#fields\t" + fields.joined(separator: "\t"), "#types\t" + types.joined(separator: "\t")]
        let fmt = try EventFormatter(store: store)
        var rows: [(Int64, String)] = []
        for c in try store.allConnections() {
            let lives = try fmt.instances(c.key)
            for (n, l) in (lives.isEmpty ? c.lifecycle.map { [$0] } ?? [] : lives).enumerated() {
                guard let o = Endpoint(userText: l.originator), let r = Endpoint(userText: l.responder) else { continue }
                let proto = c.proto == 6 ? "tcp" : c.proto == 17 ? "udp" : c.proto == 1 || c.proto == 58 ? "icmp" : "unknown_transport"
                let ts = String(format: "%.6f", Double(l.synAt ?? l.first) / 1e9)
                let cells: [String] = [
                    ts, uid(c.key, n), o.address.text, String(max(o.port, 0)), r.address.text, String(max(r.port, 0)), proto, "-",
                    String(format: "%.6f", Double(l.durationNS) / 1e9), String(l.orig.bytes), String(l.resp.bytes), l.connState, "-", "-", "0",
                    l.history.isEmpty ? "-" : l.history, String(l.orig.packets), "-", String(l.resp.packets), "-", "(empty)", c.communityID,
                ]
                rows.append((l.synAt ?? l.first, cells.joined(separator: "\t")))
            }
        }
        lines += rows.sorted { $0.0 < $1.0 }.map(\.1)
        lines.append("#close\t\(stamp())")
        Swift.print(lines.joined(separator: "\n"))
    }
}
