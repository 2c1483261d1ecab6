import XCTest
import Foundation
@testable import Parsers
import TraceModel

/// The repository's corpus folder, found from this file (a missing fixture fails, never skips).
let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("corpus")

final class CollectingSink: RecordSink {
    var records: [EventRecord] = []
    var unparsedLines: [UnparsedLine] = []
    /// Lines that gave facts about the host rather than events (tasklist rows).
    var factLines: [Int] = []
    func emit(_ record: EventRecord) { records.append(record) }
    func unparsed(_ line: UnparsedLine) { unparsedLines.append(line) }
    func process(pid: Int64, image: String, services: String?, line: Int) { factLines.append(line) }
    var structureLines: [Int] = []
    func structure(line: Int) { structureLines.append(line) }
}

struct Parsed {
    var records: [EventRecord]
    var unparsed: [UnparsedLine]
    var factLines: [Int] = []
    var structureLines: [Int] = []
    var facts: SourceFacts
    /// The decoded stream the parser saw: records' raw ranges point into it.
    var stream: [UInt8]

    func raw(_ r: EventRecord) -> String {
        let s = Int(r.rawAt)
        return String(decoding: stream[s..<s + r.rawLen], as: UTF8.self).replacingOccurrences(of: "\r", with: "")
    }

    func summary(_ r: EventRecord) -> String {
        let s = Int(r.rawAt) + r.summaryAt
        let end = stream[s..<Int(r.rawAt) + r.rawLen].firstIndex(of: 0x0A) ?? Int(r.rawAt) + r.rawLen
        return String(decoding: stream[s..<end], as: UTF8.self)
    }
}

/// Parses bytes with a parser, fed in chunks of `chunk` bytes (the whole input when nil).
func parse<P: LineParser>(_ type: P.Type, bytes: [UInt8], chunk: Int? = nil, zone: Int? = nil) -> Parsed {
    var parser = P(context: ParseContext(path: "test", zoneOffset: zone))
    let sink = CollectingSink()
    var splitter = LineSplitter()
    var stream: [UInt8] = []
    splitter.onDecoded = { stream.append(contentsOf: $0) }
    let size = max(1, chunk ?? bytes.count)
    var i = 0
    bytes.withUnsafeBufferPointer { all in
        while i < all.count {
            let piece = UnsafeBufferPointer(rebasing: all[i..<min(i + size, all.count)])
            splitter.feed(piece) { parser.consume($0, into: sink) }
            i += size
        }
    }
    splitter.finish { parser.consume($0, into: sink) }
    let facts = parser.finish(into: sink)
    var p = Parsed(records: sink.records, unparsed: sink.unparsedLines, facts: facts, stream: stream)
    p.factLines = sink.factLines
    p.structureLines = sink.structureLines
    return p
}

func parseFile<P: LineParser>(_ type: P.Type, _ relative: String, chunk: Int? = nil, zone: Int? = nil,
                              file: StaticString = #filePath, line: UInt = #line) throws -> Parsed {
    let url = corpus.appendingPathComponent(relative)
    let data = try Data(contentsOf: url)
    return parse(type, bytes: [UInt8](data), chunk: chunk, zone: zone)
}

func iso(_ ns: Int64, _ digits: Int = 3) -> String { CivilTime.iso8601(ns, digits: digits) }
