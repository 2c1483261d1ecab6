import HeapModule
import TraceModel
import EventStore

/// The merged timeline: a k-way merge of per-source streams, each read in its own time order with its
/// clock applied as it is read (ARCHITECTURE.md, "Beyond one machine"). Memory is one page per source.
public struct TimelineMerge: Sequence, IteratorProtocol {
    struct Head: Comparable {
        let event: StoredEvent
        let slot: Int
        static func < (l: Head, r: Head) -> Bool { (l.event.ts, l.event.source, l.event.id) < (r.event.ts, r.event.source, r.event.id) }
        static func == (l: Head, r: Head) -> Bool { l.event.id == r.event.id && l.event.source == r.event.source }
    }

    struct Stream {
        let source: SourceInfo
        var page: [StoredEvent]
        var index: Int
        var last: (ts: Int64, id: Int64)?
        var exhausted: Bool
    }

    private let store: any StoreReader
    private let filter: EventFilter
    private var streams: [Stream] = []
    private var heap = Heap<Head>()
    private let pageSize: Int
    public private(set) var error: (any Error)?

    public init(store: any StoreReader, filter: EventFilter, pageSize: Int = 2048) throws {
        self.store = store
        self.filter = filter
        self.pageSize = pageSize
        var sources = try store.sources()
        if !filter.hosts.isEmpty { sources = sources.filter { filter.hosts.contains($0.host) } }
        if !filter.sources.isEmpty { sources = sources.filter { filter.sources.contains($0.id) } }
        for s in sources {
            streams.append(Stream(source: s, page: [], index: 0, last: nil, exhausted: false))
            try refill(streams.count - 1)
        }
    }

    private mutating func refill(_ slot: Int) throws {
        var st = streams[slot]
        repeat {
            let page = try store.eventPage(source: st.source, filter: filter, after: st.last, limit: pageSize)
            st.page = page.events
            st.last = page.last
            st.exhausted = page.exhausted
        } while st.page.isEmpty && !st.exhausted
        st.index = 0
        streams[slot] = st
        if let e = st.page.first { heap.insert(Head(event: e, slot: slot)) }
    }

    public mutating func next() -> StoredEvent? {
        guard let top = heap.popMin() else { return nil }
        let slot = top.slot
        streams[slot].index += 1
        if streams[slot].index < streams[slot].page.count {
            heap.insert(Head(event: streams[slot].page[streams[slot].index], slot: slot))
        } else if !streams[slot].exhausted {
            do { try refill(slot) } catch { self.error = error }
        }
        return top.event
    }
}
