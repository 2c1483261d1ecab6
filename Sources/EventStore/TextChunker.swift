import Foundation

/// Cuts the decoded stream into the store's text pieces and queues them for the writer.
final class TextChunker {
    private let put: (Ingestor.Batch) -> Void
    private var buffer: [UInt8] = []
    private var n: Int64 = 0
    /// Bytes appended so far: where the next text starts.
    private(set) var offset: Int64 = 0

    convenience init(queue: BatchQueue<Ingestor.Batch>) {
        self.init(put: { queue.put($0) })
    }

    init(put: @escaping (Ingestor.Batch) -> Void) {
        self.put = put
        buffer.reserveCapacity(TextChunk.size)
    }

    func append(_ data: UnsafeBufferPointer<UInt8>) {
        offset += Int64(data.count)
        var rest = data[...]
        while !rest.isEmpty {
            let take = min(TextChunk.size - buffer.count, rest.count)
            buffer.append(contentsOf: rest.prefix(take))
            rest = rest.dropFirst(take)
            if buffer.count == TextChunk.size { ship() }
        }
    }

    func finish() { if !buffer.isEmpty { ship() } }

    /// The piece being filled, compressed, without moving on: a follower stores it at each commit so
    /// that the events just committed can show their text; the piece is stored again (replaced) as it
    /// grows. nil when it is empty.
    func partial() -> (n: Int64, bytes: [UInt8])? {
        buffer.isEmpty ? nil : (n, TextCompression.deflate(buffer))
    }

    private func ship() {
        put(.text(n, TextCompression.deflate(buffer)))
        n += 1
        buffer = []
        buffer.reserveCapacity(TextChunk.size)
    }
}

/// The size of the pieces a source's text is stored in (`text_chunk`).
public enum TextChunk {
    public static let size = 32_768
}
