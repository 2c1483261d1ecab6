/// What an event is. Stored as its integer; the store's `kind` table gives the names to SQL users.
/// Kinds go from general to specific in their names, as plaso's do.
public enum EventKind: Int, CaseIterable, Sendable {
    /// A packet as a capture or a packet-list export shows it.
    case packet = 1
    /// A log line with a time but no packet.
    case log = 2
    /// One row of a socket table (netstat, ss) at the time the table was taken.
    case socketSnapshot = 3

    public var name: String {
        switch self {
        case .packet: return "packet"
        case .log: return "log"
        case .socketSnapshot: return "socket_snapshot"
        }
    }

    public init?(name: String) {
        guard let k = EventKind.allCases.first(where: { $0.name == name }) else { return nil }
        self = k
    }
}
