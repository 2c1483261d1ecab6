import XCTest
import Foundation
@testable import ClickHouse

/// `compression=gzip` bodies: what GzipStream writes is gzip as the gzip tool reads it.
final class GzipStreamTests: XCTestCase {
    func gunzip(_ bytes: [UInt8]) throws -> [UInt8] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip")
        p.arguments = ["-dc"]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try p.run()
        DispatchQueue.global().async { input.fileHandleForWriting.write(Data(bytes)); try? input.fileHandleForWriting.close() }
        let out = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "gzip -dc reads it")
        return [UInt8](out)
    }

    func testChunksComeOutAsOneGzipStream() throws {
        // Rows-like bytes in three chunks, one of them empty and one larger than deflate's window.
        var rng = SystemRandomNumberGenerator()
        let big = (0..<1_500_000).map { i in UInt8(truncatingIfNeeded: i % 251 == 0 ? Int(rng.next() % 256) : i % 7) }
        let chunks: [[UInt8]] = [Array("dataset\u{1}host".utf8), [], big]
        let gz = GzipStream()
        var out: [UInt8] = []
        for c in chunks { out += gz.compress(c) }
        out += gz.finish()
        XCTAssertEqual(Array(out.prefix(2)), [0x1F, 0x8B], "a gzip header")
        XCTAssertLessThan(out.count, big.count / 4, "repetitive rows shrink")
        XCTAssertEqual(try gunzip(out), chunks.flatMap { $0 })
        XCTAssertEqual(gz.finish(), [], "finished once")
    }
}
