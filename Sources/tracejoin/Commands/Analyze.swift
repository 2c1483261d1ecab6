import ArgumentParser
import EventStore
import Timeline
import Render

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The main job in one command: ingest, then print the sources, the connections and the head of the timeline.",
        discussion: "Example: tracejoin analyze --store :memory: corpus/rdp-reset"
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var ingest: IngestArguments
    @Option(help: "How many timeline events to show.") var head = 40
    @Option(help: "How many connections to list.") var connections = 25

    func run() throws {
        if store.isClickHouse {
            // Into the dataset (the findings computed on the way), then everything read back from it.
            Swift.print("== ingest")
            let reports = try ClickHouseIngest.load(url: store.store, arguments: ingest)
            try show(try store.openDataset())
            try IngestRunner.exit(for: reports)
            return
        }
        let s = try store.open()
        Swift.print("== ingest")
        let reports = try IngestRunner.run(store: s, arguments: ingest)
        try runStalePasses(s)
        try show(s)
        try IngestRunner.exit(for: reports)
    }

    /// The sections after the ingest, from either store.
    func show(_ s: any StoreReader) throws {
        Swift.print("\n== sources")
        let sources = try s.sources()
        try SourcesPrinter.print(sources, json: false)
        if sources.count > 1 {
            // Several capture points: how their clocks were put on one (`tracejoin clocks` for more).
            Swift.print("\n== clocks")
            let report = ClockPass.Report(reference: sources.compactMap(\.clockReference).first ?? ClockPass.defaultReference(sources))
            try ClocksPrinter.print(sources, report: report, json: false)
        }
        let fmt = try EventFormatter(store: s)
        let conns = try s.allConnections()
        Swift.print("\n== connections" + (conns.count > connections ? " (first \(connections) of \(conns.count); `tracejoin connections` for all)" : ""))
        try ConnectionsPrinter.print(ConnectionsPrinter.sorted(conns, fmt, expand: false).prefix(connections).map { $0.0 }, formatter: fmt, json: false)
        Swift.print("\n== timeline (first \(head) events; `tracejoin timeline` for all)")
        try TimelinePrinter.print(store: s, filter: EventFilter(), formatter: fmt, json: false, csv: false, limit: head)
        Swift.print("\n== findings (`tracejoin findings --json` for the evidence as data)")
        try FindingsPrinter.print(try FindingRows.of(s), store: s, json: false)
    }
}
