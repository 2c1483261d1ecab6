/// The direction-free identity of a connection: `tcp 10.0.0.1:50357 ⇄ 10.0.0.2:5061`.
///
/// The two endpoints are kept in Community ID order (lower address first, then lower port), so both
/// directions and every capture point give the same key. `key` is the first 8 bytes of the Community ID
/// hash: one integer for every capture point, which a cluster can shard on (ARCHITECTURE.md, "Beyond one
/// machine").
public struct ConnectionKey: Hashable, Sendable {
    public let proto: UInt8
    /// The lower endpoint in Community ID order.
    public let a: Endpoint
    /// The higher endpoint.
    public let b: Endpoint
    public let communityID: String
    public let key: Int64

    /// nil when either side is not an IP address or has no port (ports are what a connection is).
    public init?(proto: UInt8, src: Endpoint, dst: Endpoint) {
        guard let sb = src.address.bytes, let db = dst.address.bytes, sb.count == db.count,
              src.port >= 0, dst.port >= 0 else { return nil }
        let sp = UInt16(truncatingIfNeeded: src.port), dp = UInt16(truncatingIfNeeded: dst.port)
        let (id, key) = CommunityID.v1(proto: proto, src: sb, srcPort: sp, dst: db, dstPort: dp)
        self.proto = proto
        if CommunityID.isOrdered(src: sb, srcPort: sp, dst: db, dstPort: dp) {
            a = src; b = dst
        } else {
            a = dst; b = src
        }
        communityID = id
        self.key = key
    }

    public var text: String { "\(IPProto.name(proto)) \(a.text) ⇄ \(b.text)" }
}
