/// IANA protocol numbers for the transports tracejoin keys connections on.
public enum IPProto {
    public static let icmp: UInt8 = 1
    public static let tcp: UInt8 = 6
    public static let udp: UInt8 = 17
    public static let icmpv6: UInt8 = 58
    public static let sctp: UInt8 = 132

    public static func name(_ p: UInt8) -> String {
        switch p {
        case tcp: return "tcp"
        case udp: return "udp"
        case icmp: return "icmp"
        case icmpv6: return "icmp6"
        case sctp: return "sctp"
        default: return "ip\(p)"
        }
    }
}
