import CGzip

/// zlib (RFC 1950) for the stored text pieces: packet lists compress several times over, which keeps
/// the store small and, above all, keeps the writer from pushing every byte of text through the WAL
/// twice (once into the log, once at the checkpoint). Level 1: the parser thread pays for it.
enum TextCompression {
    static func deflate(_ bytes: [UInt8]) -> [UInt8] {
        var outLen = compressBound(uLong(bytes.count))
        var out = [UInt8](repeating: 0, count: Int(outLen))
        let rc = bytes.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                compress2(dst.baseAddress, &outLen, src.baseAddress, uLong(src.count), 1)
            }
        }
        precondition(rc == Z_OK, "zlib compress2 failed (\(rc)) on a buffer it sized itself")
        out.removeLast(out.count - Int(outLen))
        return out
    }

    /// nil when the bytes are not zlib data of at most `maxSize` bytes.
    static func inflate(_ bytes: UnsafeRawBufferPointer, maxSize: Int) -> [UInt8]? {
        var outLen = uLong(maxSize)
        var out = [UInt8](repeating: 0, count: maxSize)
        let rc = out.withUnsafeMutableBufferPointer { dst in
            uncompress(dst.baseAddress, &outLen, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), uLong(bytes.count))
        }
        guard rc == Z_OK else { return nil }
        out.removeLast(out.count - Int(outLen))
        return out
    }
}
