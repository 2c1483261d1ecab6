/// Base64 encoding (RFC 4648 §4: standard alphabet, `=` padding), which is what Community ID uses
/// to render its digest. Only encoding is needed, so only encoding is provided.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        // Each group of 3 input bytes (24 bits) becomes 4 characters of 6 bits each. A short final
        // group is zero-filled, and the characters that carry no input bits become '='.
        var i = 0
        while i < bytes.count {
            let remaining = bytes.count - i
            let group = UInt32(bytes[i]) << 16
                | (remaining > 1 ? UInt32(bytes[i + 1]) << 8 : 0)
                | (remaining > 2 ? UInt32(bytes[i + 2]) : 0)
            out.append(alphabet[Int(group >> 18 & 63)])
            out.append(alphabet[Int(group >> 12 & 63)])
            out.append(remaining > 1 ? alphabet[Int(group >> 6 & 63)] : UInt8(ascii: "="))
            out.append(remaining > 2 ? alphabet[Int(group & 63)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
