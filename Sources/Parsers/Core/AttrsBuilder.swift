import TraceModel

/// A record's `attrs` JSON object written into one reused byte buffer: one `String` per record rather
/// than one per key, value and join (on the Network Monitor parser those were half its time).
///
/// The text is the same as `"{" + parts.joined(separator: ",") + "}"` with each value through
/// `jsonString`: ASCII values are escaped here byte by byte as `jsonString` escapes them scalar by
/// scalar; anything else goes through `String(decoding:)` (which repairs invalid UTF-8) and
/// `jsonString` itself.
struct AttrsBuilder {
    private var out = TextBuilder()

    var isEmpty: Bool { out.isEmpty }

    mutating func reset() { out.reset() }

    /// `"key":` after a comma or the opening brace.
    mutating func key(_ k: StaticString) {
        out.append(byte: out.isEmpty ? UInt8(ascii: "{") : ASCII.comma)
        out.append(byte: ASCII.quote)
        out.append(k)
        out.append(byte: ASCII.quote)
        out.append(byte: ASCII.colon)
    }

    mutating func number(_ k: StaticString, _ v: Int64) {
        key(k)
        out.append(v)
    }

    /// A JSON string value from bytes, as `jsonString(String(decoding: v, as: UTF8.self))` writes it.
    mutating func string(_ k: StaticString, _ v: UnsafeBufferPointer<UInt8>) {
        key(k)
        appendString(v)
    }

    /// A value known to need no escaping (hex digits, literals), written between quotes as it is.
    mutating func plain(_ k: StaticString, prefix: StaticString = "", _ v: UnsafeBufferPointer<UInt8>) {
        key(k)
        out.append(byte: ASCII.quote)
        out.append(prefix)
        out.appendBytes(v)
        out.append(byte: ASCII.quote)
    }

    mutating func literal(_ k: StaticString, _ json: StaticString) {
        key(k)
        out.append(json)
    }

    mutating func string(_ k: StaticString, text: String) {
        key(k)
        out.append(text: jsonString(text))
    }

    private mutating func appendString(_ v: UnsafeBufferPointer<UInt8>) {
        var plain = true
        for c in v {
            if c >= 0x80 {
                out.append(text: jsonString(String(decoding: v, as: UTF8.self)))
                return
            }
            if c < 0x20 || c == ASCII.quote || c == UInt8(ascii: "\\") { plain = false }
        }
        out.append(byte: ASCII.quote)
        if plain {
            out.appendBytes(v)
        } else {
            for c in v {
                switch c {
                case ASCII.quote: out.append("\\\"")
                case UInt8(ascii: "\\"): out.append("\\\\")
                case 0x0A: out.append("\\n")
                case 0x0D: out.append("\\r")
                case 0x09: out.append("\\t")
                case 0..<0x20:
                    // `\u` and four lowercase hex digits, as jsonString writes them.
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    out.append("\\u00")
                    out.append(byte: hex[Int(c >> 4)])
                    out.append(byte: hex[Int(c & 0xF)])
                default: out.append(byte: c)
                }
            }
        }
        out.append(byte: ASCII.quote)
    }

    /// The object's text, nil when no key was written.
    func make() -> String? {
        if out.isEmpty { return nil }
        return out.withBytes { b in
            // One byte longer than the buffer for the closing brace, written straight into the new String.
            String(unsafeUninitializedCapacity: b.count + 1, initializingUTF8With: { dst in
                _ = dst.initialize(fromContentsOf: b)
                dst[b.count] = UInt8(ascii: "}")
                return b.count + 1
            })
        }
    }
}
