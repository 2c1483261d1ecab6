import ArgumentParser
import Foundation
import TraceModel
import Parsers
import Render

struct Formats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The formats tracejoin reads (ids for --format), built in and from format files.",
        subcommands: [List.self, Test.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every format and where it comes from.")
        @OptionGroup var formats: ParsersOption

        func run() {
            formats.load()
            var t = TextTable(header: ["id", "from", "what"])
            for p in Registry.all {
                switch p {
                case .declarative(let f): t.add([p.id, f.origin, f.spec.description ?? "user-defined format"])
                default: t.add([p.id, "built in", p.summary])
                }
            }
            Swift.print(t.render())
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Which format a file is taken for, and what it reads from its first lines.",
            discussion: "For checking a format file while writing it: `tracejoin formats test --parsers my-formats/ app.log`.")
        @OptionGroup var formats: ParsersOption
        @Option(help: "Use this format instead of detecting one.") var format: String?
        @Option(help: "How many lines to read.") var lines = 20
        @Argument(help: "The file.") var file: String

        func run() throws {
            formats.load()
            let input = InputFile(path: file)
            let head = try input.head()
            guard let kind = format.map({ Registry.parser(id: $0) }) ?? Registry.detect(bytes: head) else {
                throw CLIError(format.map { "unknown format \($0)" } ?? "\(file): no format claims its first lines (tracejoin formats lists them; --format to force one)")
            }
            Swift.print("\(file): \(kind.id)" + (format == nil ? " (detected)" : "") + " — \(kind.summary)")
            guard var parser = kind.lineParser(context: ParseContext(path: file, modified: input.modificationTime)) else {
                Swift.print("(a capture format: `tracejoin ingest` reads it)")
                return
            }
            let sink = ShowingSink()
            var splitter = LineSplitter()
            var text: [UInt8] = []
            splitter.onDecoded = { text.append(contentsOf: $0) }
            var n = 0
            head.withUnsafeBufferPointer { buf in
                splitter.feed(buf) { line in
                    n = line.number
                    if n <= lines { parser.consume(line, into: sink) }
                }
            }
            splitter.finish { line in if line.number <= lines { parser.consume(line, into: sink) } }
            _ = parser.finish(into: sink)
            for item in sink.items.sorted(by: { $0.line < $1.line }) where item.line <= lines {
                switch item.what {
                case .record(let r):
                    var parts = ["\(item.line): \(CivilTime.iso8601(r.ts, digits: 6))"]
                    if r.src != nil || r.dst != nil {
                        parts.append("\(r.src?.text ?? "?")\(r.srcPort >= 0 ? ":\(r.srcPort)" : "") → \(r.dst?.text ?? "?")\(r.dstPort >= 0 ? ":\(r.dstPort)" : "")")
                    }
                    if let l = r.label { parts.append(l) }
                    if let a = r.attrs { parts.append(a) }
                    let s = Int(r.rawAt) + r.summaryAt
                    if s < text.count {
                        let end = text[s...].firstIndex(of: 0x0A) ?? text.count
                        parts.append("“" + String(decoding: text[s..<end].filter { $0 != 0x0D }, as: UTF8.self) + "”")
                    }
                    Swift.print(parts.joined(separator: "  "))
                case .unparsed(let why): Swift.print("\(item.line): not read: \(why)")
                }
            }
        }
    }
}

/// Keeps what a parser gives, for `formats test`.
final class ShowingSink: RecordSink {
    enum What { case record(EventRecord), unparsed(String) }
    var items: [(line: Int, what: What)] = []
    func emit(_ record: EventRecord) { items.append((record.line, .record(record))) }
    func unparsed(_ line: UnparsedLine) { items.append((line.line, .unparsed(line.reason))) }
}
