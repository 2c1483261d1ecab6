import CGzip

/// gzip over a stream of chunks (zlib's deflate with a gzip wrapper), for `Content-Encoding: gzip` insert bodies:
/// each chunk in, the compressed bytes ready so far out, the trailer at `finish`. Level 1: ClickHouse's own batches
/// compress about 6× at it (SCALEOUT.md §2.3: 141.6 MB → 22 MB), and more would cost the client's CPU for little.
///
/// The z_stream lives on the heap: zlib keeps a pointer back to it, so it must not move between calls.
final class GzipStream: @unchecked Sendable {
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private var finished = false

    init(level: Int32 = 1) {
        stream.initialize(to: z_stream())
        // windowBits 15 + 16: a gzip header and trailer rather than zlib's.
        let rc = deflateInit2_(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(rc == Z_OK, "deflateInit2 failed (\(rc)): zlib is broken")
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    /// The compressed bytes for `input` that deflate lets out now (possibly none: it keeps up to a block back).
    func compress(_ input: [UInt8]) -> [UInt8] { run(input, flush: Z_NO_FLUSH) }

    /// What is left, and the trailer; once.
    func finish() -> [UInt8] {
        guard !finished else { return [] }
        finished = true
        return run([], flush: Z_FINISH)
    }

    private func run(_ input: [UInt8], flush: Int32) -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var input = input
        input.withUnsafeMutableBufferPointer { inp in
            stream.pointee.next_in = inp.baseAddress
            stream.pointee.avail_in = UInt32(inp.count)
            var rc = Z_OK
            repeat {
                let produced = buffer.withUnsafeMutableBufferPointer { o -> Int in
                    stream.pointee.next_out = o.baseAddress
                    stream.pointee.avail_out = UInt32(o.count)
                    rc = deflate(stream, flush)
                    return o.count - Int(stream.pointee.avail_out)
                }
                out.append(contentsOf: buffer[0..<produced])
                // zlib's own loop: more to come while the output buffer came back full; at Z_FINISH, until the end.
            } while rc != Z_STREAM_ERROR && (flush == Z_FINISH ? rc != Z_STREAM_END : stream.pointee.avail_out == 0)
            stream.pointee.next_in = nil
        }
        return out
    }
}
