import Foundation

/// Cuts the decoded stream into the store's text pieces and queues them for the writer.
final class TextChunker {
    private let queue: BatchQueue<Ingestor.Batch>
    private var buffer: [UInt8] = []
    private var n: Int64 = 0
    /// Bytes appended so far: where the next text starts.
    private(set) var offset: Int64 = 0

    init(queue: BatchQueue<Ingestor.Batch>) {
        self.queue = queue
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

    private func ship() {
        queue.put(.text(n, TextCompression.deflate(buffer)))
        n += 1
        buffer = []
        buffer.reserveCapacity(TextChunk.size)
    }
}

/// The size of the pieces a source's text is stored in (`text_chunk`).
public enum TextChunk {
    public static let size = 32_768
}
