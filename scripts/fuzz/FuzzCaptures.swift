


final class NullSink: CaptureSink {
    var n = 0
    func emit(_ record: EventRecord) { n += 1 }
    func unparsed(_ line: UnparsedLine) {}
    func appendText(_ text: UnsafeBufferPointer<UInt8>) -> Int64 { Int64(text.count) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let b = UnsafeBufferPointer(start: data, count: size)
    let sink = NullSink()
    // Both readers, whole and in two pieces (blocks straddling chunks).
    var a = Pcap(context: ParseContext(path: "f"))
    a.consume(b, into: sink); _ = a.finish(into: sink)
    var c = Pcapng(context: ParseContext(path: "f"))
    let half = size / 2
    c.consume(UnsafeBufferPointer(rebasing: b[0..<half]), into: sink)
    c.consume(UnsafeBufferPointer(rebasing: b[half...]), into: sink)
    _ = c.finish(into: sink)
    return 0
}
