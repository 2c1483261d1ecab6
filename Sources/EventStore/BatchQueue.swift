import Foundation

/// A bounded hand-off between the parser thread and the writer: the parser blocks when the writer is
/// behind, so memory stays flat whatever the file size.
final class BatchQueue<T>: @unchecked Sendable {
    private var items: [T] = []
    private var closed = false
    private let capacity: Int
    private let cond = NSCondition()

    init(capacity: Int) { self.capacity = capacity }

    func put(_ item: T) {
        cond.lock()
        while items.count >= capacity && !closed { cond.wait() }
        items.append(item)
        cond.broadcast()
        cond.unlock()
    }

    /// nil once closed and drained.
    func take() -> T? {
        cond.lock()
        defer { cond.unlock() }
        while items.isEmpty && !closed { cond.wait() }
        if items.isEmpty { return nil }
        let x = items.removeFirst()
        cond.broadcast()
        return x
    }

    func close() {
        cond.lock()
        closed = true
        cond.broadcast()
        cond.unlock()
    }
}
