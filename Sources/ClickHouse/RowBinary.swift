/// ClickHouse's `RowBinary` input format, written row by row, column by column, with nothing between.
///
/// From ClickHouse's "Formats → RowBinary" page:
/// - "Integers use fixed-length little-endian representation. For example, UInt64 uses 8 bytes."
/// - "String is represented as a varint length (unsigned LEB128), followed by the bytes of the string."
/// - "FixedString is represented simply as a sequence of bytes."
/// - "DateTime64 is represented as Int64" (ticks of its precision: nanoseconds for DateTime64(9)).
/// - "IPv6 is represented as 16 bytes in network order" — the same bytes as FixedString(16), which is why one
///   encoder serves the 18.16 compat table and the current one (SCALEOUT.md §2.3, verified there).
/// - Nullable: "1 byte (0 or 1) is written in front of the value"; 1 means NULL and no value follows.
///
/// The writer appends to one growing byte array and is reset between chunks; it never fails.
public struct RowBinaryWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public var count: Int { bytes.count }
    public mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    @inline(__always) mutating func littleEndian<T: FixedWidthInteger>(_ v: T) {
        var x = v.littleEndian
        withUnsafeBytes(of: &x) { bytes.append(contentsOf: $0) }
    }

    public mutating func uint8(_ v: UInt8) { bytes.append(v) }
    public mutating func uint16(_ v: UInt16) { littleEndian(v) }
    public mutating func uint32(_ v: UInt32) { littleEndian(v) }
    public mutating func uint64(_ v: UInt64) { littleEndian(v) }
    public mutating func int32(_ v: Int32) { littleEndian(v) }
    public mutating func int64(_ v: Int64) { littleEndian(v) }

    /// Unsigned LEB128: seven bits a byte, low bits first, the high bit set on every byte but the last.
    public mutating func varUInt(_ v: UInt64) {
        var x = v
        while x >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: x) | 0x80)
            x >>= 7
        }
        bytes.append(UInt8(x))
    }

    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            varUInt(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// Bytes encoded before (`EventRows`' columns written the same for many rows).
    public mutating func append<C: Collection>(_ encoded: C) where C.Element == UInt8 {
        bytes.append(contentsOf: encoded)
    }

    /// A String column's bytes as they are (text the store keeps as UTF-8).
    public mutating func string(_ utf8: [UInt8]) {
        varUInt(UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// Exactly 16 bytes: IPv6 (network order) or FixedString(16).
    public mutating func bytes16(_ b: [UInt8]) {
        precondition(b.count == 16)
        bytes.append(contentsOf: b)
    }

    // Nullable(T): a NULL byte, then the value unless NULL.
    public mutating func nullable<T>(_ v: T?, _ write: (inout RowBinaryWriter, T) -> Void) {
        if let v {
            bytes.append(0)
            write(&self, v)
        } else {
            bytes.append(1)
        }
    }
}

/// Reads ClickHouse's `RowBinary` output (`SELECT … FORMAT RowBinary`): the same layout as the writer's.
/// A short or malformed answer throws rather than reading past the end.
public struct RowBinaryReader {
    let bytes: [UInt8]
    public private(set) var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var atEnd: Bool { offset >= bytes.count }

    struct Short: Error {}

    @inline(__always) mutating func take(_ n: Int) throws -> Int {
        guard n >= 0, bytes.count - offset >= n else { throw Short() }
        defer { offset += n }
        return offset
    }

    @inline(__always) mutating func littleEndian<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let at = try take(MemoryLayout<T>.size)
        var v = T.zero
        withUnsafeMutableBytes(of: &v) { d in bytes.withUnsafeBytes { s in d.copyMemory(from: UnsafeRawBufferPointer(rebasing: s[at..<at + d.count])) } }
        return T(littleEndian: v)
    }

    public mutating func uint8() throws -> UInt8 { bytes[try take(1)] }
    public mutating func uint16() throws -> UInt16 { try littleEndian(UInt16.self) }
    public mutating func uint32() throws -> UInt32 { try littleEndian(UInt32.self) }
    public mutating func uint64() throws -> UInt64 { try littleEndian(UInt64.self) }
    public mutating func int32() throws -> Int32 { try littleEndian(Int32.self) }
    public mutating func int64() throws -> Int64 { try littleEndian(Int64.self) }

    public mutating func varUInt() throws -> UInt64 {
        var x: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try uint8()
            guard shift < 64 else { throw Short() }
            x |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return x }
            shift += 7
        }
    }

    public mutating func string() throws -> String {
        let n = try varUInt()
        guard n <= UInt64(bytes.count) else { throw Short() }
        let at = try take(Int(n))
        return String(decoding: bytes[at..<at + Int(n)], as: UTF8.self)
    }

    /// Array(T): a varint count, then the elements.
    public mutating func array<T>(_ read: (inout RowBinaryReader) throws -> T) throws -> [T] {
        let n = try varUInt()
        guard n <= UInt64(bytes.count - offset) else { throw Short() } // every element takes a byte at least
        return try (0..<Int(n)).map { _ in try read(&self) }
    }

    /// Nullable(T): a NULL byte (1 = NULL), then the value unless NULL.
    public mutating func nullable<T>(_ read: (inout RowBinaryReader) throws -> T) throws -> T? {
        try uint8() == 1 ? nil : read(&self)
    }
}
