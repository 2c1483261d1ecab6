import ArgumentParser

@main
struct TraceJoin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tracejoin",
        abstract: "Correlate packet captures' text exports and logs from several machines on one timeline.",
        discussion: """
        Load Wireshark/tshark packet lists from every capture point into one SQLite store, read them as \
        one merged timeline, follow one connection everywhere it was seen, and see how each connection \
        lived and ended.

        Start with:  tracejoin analyze corpus/rdp-reset
        """,
        version: "0.1.0",
        subcommands: [Analyze.self, Ingest.self, Timeline.self, Conn.self, Connections.self, Sockets.self, Handshakes.self, SIP.self, FindingsCommand.self, Report.self, View.self, Export.self, Push.self, Clocks.self, Sources.self, Formats.self, SQL.self]
    )
}
