import XCTest
import Foundation
@testable import Parsers
import TraceModel

/// Inputs that once crashed a capture reader (found by scripts/fuzz-captures.sh), kept in
/// corpus/fuzz-regressions: each must now be read to its end, its damage reported, nothing invented.
final class FuzzRegressionTests: XCTestCase {
    func testEveryKeptCrashIsReadWithoutCrashing() throws {
        let dir = corpus.appendingPathComponent("fuzz-regressions")
        let files = try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
        XCTAssertFalse(files.isEmpty, "corpus/fuzz-regressions is empty")
        for url in files {
            let bytes = [UInt8](try Data(contentsOf: url))
            for chunk in [bytes.count, 13] {
                let ng = readCapture(Pcapng.self, bytes, chunk: chunk).0
                let classic = readCapture(Pcap.self, bytes, chunk: chunk).0
                // The damage is said (with its byte offset) by whichever reader the file claims to be for.
                let said = Pcapng.sniff(bytes) > 0 ? ng.unparsedLines : classic.unparsedLines
                XCTAssertTrue(said.contains { $0.reason.hasPrefix("byte offset") }, "\(url.lastPathComponent): damage not reported")
            }
        }
    }
}
