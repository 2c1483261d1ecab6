import ClickHouse
import EventStore
import Timeline

/// Findings as the rows of ClickHouse's `findings` and `finding_evidence` tables (the push computes them: the SQLite
/// store does not keep them), and back.
enum FindingRows {
    static func rows(_ findings: [Finding]) -> [(DerivedSpec, [[DerivedValue]])] {
        var head: [[DerivedValue]] = []
        var evidence: [[DerivedValue]] = []
        for (n, f) in findings.enumerated() {
            // A Double's description reads back as the same Double.
            let numbers = f.numbers.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\n")
            head.append([.int(Int64(n)), .text(f.kind), .text(f.severity.rawValue), .int(f.ts), .text(f.hosts.joined(separator: "\n")),
                         .text(f.connection), .text(f.explanation), .text(numbers)])
            for (i, e) in f.evidence.enumerated() {
                evidence.append([.int(Int64(n)), .int(Int64(i)), .int(e.source), .int(Int64(e.line)), .int(e.ts), .text(e.text)])
            }
        }
        return [(.findings, head), (.findingEvidence, evidence)]
    }

    /// A store's findings: computed on a SQLite store (its passes brought up to date first, `openDerived`), or those
    /// the push copied into a dataset.
    static func of(_ store: any StoreReader) throws -> [Finding] {
        if let dataset = store as? ClickHouseReader { return try findings(dataset) }
        guard let s = store as? Store else { throw CLIError("findings: a store of an unknown kind") }
        return try Findings.run(s)
    }

    /// The findings a push copied, in their order; an error when the dataset was pushed without them.
    static func findings(_ reader: ClickHouseReader) throws -> [Finding] {
        guard reader.has(.findings) else {
            throw CLIError("dataset pushed without its findings (push --no-findings): push the store again without it")
        }
        var evidence: [Int64: [Finding.Evidence]] = [:]
        for r in try reader.derived(.findingEvidence) {
            guard let n = r[0].int, let source = r[2].int, let line = r[3].int, let ts = r[4].int else { continue }
            evidence[n, default: []].append(Finding.Evidence(source: source, line: Int(line), ts: ts, text: r[5].text ?? ""))
        }
        return try reader.derived(.findings).compactMap { r in
            guard let n = r[0].int, let kind = r[1].text, let severity = r[2].text.flatMap(Finding.Severity.init(rawValue:)), let ts = r[3].int else { return nil }
            var numbers: [String: Double] = [:]
            for line in (r[7].text ?? "").split(separator: "\n") {
                guard let eq = line.firstIndex(of: "="), let v = Double(line[line.index(after: eq)...]) else { continue }
                numbers[String(line[..<eq])] = v
            }
            let hosts = (r[4].text ?? "").split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            return Finding(kind: kind, severity: severity, ts: ts, hosts: hosts, connection: r[5].text, explanation: r[6].text ?? "",
                           evidence: evidence[n] ?? [], numbers: numbers)
        }
    }
}
