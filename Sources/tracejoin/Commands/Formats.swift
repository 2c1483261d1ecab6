import ArgumentParser
import Parsers
import Render

struct Formats: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The formats tracejoin reads (ids for --format).")

    func run() {
        var t = TextTable(header: ["id", "what"])
        for p in Registry.all { t.add([p.id, p.summary]) }
        Swift.print(t.render())
    }
}
