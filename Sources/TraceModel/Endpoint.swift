/// An address and, where the transport has one, a port.
public struct Endpoint: Hashable, Sendable {
    public var address: Address
    /// -1 when the event names no port (ARP, ICMP, a host alone).
    public var port: Int32

    public init(address: Address, port: Int32 = -1) {
        self.address = address
        self.port = port
    }

    /// `10.0.0.1:50357`, `[2001:db8::1]:443`, or the address alone without a port.
    public var text: String {
        guard port >= 0 else { return address.text }
        if case .v6 = address { return "[\(address.text)]:\(port)" }
        return "\(address.text):\(port)"
    }

    /// Parses what a user types on the command line: `ip`, `ip:port`, `[v6]:port`, `v6`.
    public init?(userText: String) {
        var s = Substring(userText)
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]"), let addr = Address(ip: s[s.index(after: s.startIndex)..<close]) else { return nil }
            let rest = s[s.index(after: close)...]
            if rest.isEmpty { self.init(address: addr); return }
            guard rest.hasPrefix(":"), let p = Int32(rest.dropFirst()), p >= 0, p <= 65535 else { return nil }
            self.init(address: addr, port: p)
            return
        }
        if let addr = Address(ip: s) { self.init(address: addr); return }
        // Last colon separates the port for IPv4 and names.
        guard let colon = s.lastIndex(of: ":") else { return nil }
        let portText = s[s.index(after: colon)...]
        s = s[..<colon]
        guard let addr = Address(ip: s), let p = Int32(portText), p >= 0, p <= 65535 else { return nil }
        self.init(address: addr, port: p)
    }
}
