import XCTest
@testable import TraceModel

final class SHA1Tests: XCTestCase {
    // Vectors: FIPS 180-2 Appendix A (A.1 "abc", A.2 the 448-bit message, A.3 one million 'a'),
    // the same three as RFC 3174 §7.3 TEST1/TEST2/TEST3. The empty message is "Len = 0" in NIST
    // CAVP SHA1ShortMsg.rsp; the 896-bit message is the two-block vector from the same set of
    // FIPS 180 test messages as published by NIST for SHA-2 (digest cross-checked with Python hashlib).

    func testFIPSVectors() {
        XCTAssertEqual(hex(SHA1.hash(Array("abc".utf8))), "a9993e364706816aba3e25717850c26c9cd0d89d")
        XCTAssertEqual(hex(SHA1.hash([UInt8]())), "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        // 56 bytes: the length no longer fits after the 0x80 in the same block, so padding spills over.
        XCTAssertEqual(hex(SHA1.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))),
                       "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        let msg896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"
        XCTAssertEqual(hex(SHA1.hash(Array(msg896.utf8))), "a49b2446a02c645bf419f995b67091253a04a259")
    }

    func testMillionAInUnevenChunks() {
        let expected = "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        XCTAssertEqual(hex(SHA1.hash(million)), expected)

        // Chunk sizes chosen to land on, just before and just after block boundaries, so both the
        // carry-over buffer and the direct whole-block path are exercised.
        var sha = SHA1()
        let sizes = [1, 63, 64, 65, 7, 128, 0, 1000, 55, 56, 4097]
        var offset = 0, i = 0
        while offset < million.count {
            let n = min(sizes[i % sizes.count], million.count - offset)
            sha.update(million[offset..<offset + n])
            offset += n; i += 1
        }
        XCTAssertEqual(hex(sha.finalize()), expected)

        // Non-contiguous collections take the copying path.
        var lazy = SHA1()
        lazy.update(repeatElement(UInt8(ascii: "a"), count: 333_333))
        lazy.update((0..<666_667).lazy.map { _ in UInt8(ascii: "a") })
        XCTAssertEqual(hex(lazy.finalize()), expected)
    }

    /// Every split point of every length around the padding boundaries gives the one-shot digest.
    func testChunkingDoesNotChangeDigest() {
        let data = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        for length in [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 200] {
            let whole = SHA1.hash(data[0..<length])
            for split in 0...length {
                var sha = SHA1()
                sha.update(data[0..<split])
                sha.update(data[split..<length])
                XCTAssertEqual(sha.finalize(), whole, "length \(length) split \(split)")
            }
        }
    }
}

final class Base64Tests: XCTestCase {
    // RFC 4648 §10 test vectors.
    func testRFC4648Vectors() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v",
                       "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            XCTAssertEqual(Base64.encode(Array(plain.utf8)), encoded, plain)
        }
    }

    func testWholeAlphabet() {
        // 0x00 0x10 0x83 … packs the 6-bit values 0, 1, 2, …, 63 in order: every character once.
        var bits: [UInt8] = []
        var acc: UInt32 = 0, n = 0
        for v in UInt32(0)..<64 {
            acc = acc << 6 | v; n += 6
            if n == 24 { bits += [UInt8(acc >> 16), UInt8(acc >> 8 & 0xff), UInt8(acc & 0xff)]; acc = 0; n = 0 }
        }
        XCTAssertEqual(Base64.encode(bits), "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    }
}

final class CommunityIDTests: XCTestCase {
    struct Vector {
        let proto: UInt8, src: String, srcPort: UInt16, dst: String, dstPort: UInt16, seed: UInt16, id: String
        init(_ proto: UInt8, _ src: String, _ srcPort: UInt16, _ dst: String, _ dstPort: UInt16,
             seed: UInt16 = 0, _ id: String) {
            (self.proto, self.src, self.srcPort, self.dst, self.dstPort, self.seed, self.id) =
                (proto, src, srcPort, dst, dstPort, seed, id)
        }
    }

    // Source: corelight/community-id-spec, baseline/README.md ("Default settings" and
    // "A custom seed=1 value" tables), commit c4ec2bc40d65ddbcbdd642582bf5609797a80772.
    // ICMP rows give the message type as the source port and the code as the destination port.
    static let baselineTables: [Vector] = [
        // Default settings.
        Vector(6, "1.2.3.4", 1122, "5.6.7.8", 3344, "1:wCb3OG7yAFWelaUydu0D+125CLM="),    // TCP out …
        Vector(6, "5.6.7.8", 3344, "1.2.3.4", 1122, "1:wCb3OG7yAFWelaUydu0D+125CLM="),    // … and back
        Vector(17, "1.2.3.4", 1122, "5.6.7.8", 3344, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="),   // UDP
        Vector(17, "5.6.7.8", 3344, "1.2.3.4", 1122, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="),
        Vector(132, "1.2.3.4", 1122, "5.6.7.8", 3344, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8="),  // SCTP
        Vector(132, "5.6.7.8", 3344, "1.2.3.4", 1122, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8="),
        Vector(1, "1.2.3.4", 8, "5.6.7.8", 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0="),          // ICMP echo request …
        Vector(1, "5.6.7.8", 0, "1.2.3.4", 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0="),          // … and reply
        Vector(1, "1.2.3.4", 11, "5.6.7.8", 0, "1:f/YiSyWqczrTgfUCZlBUnvHRcPk="),         // one-way (time exceeded)
        Vector(58, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", 128,
               "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 0, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo="),  // ICMPv6 echo …
        Vector(58, "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 129,
               "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", 0, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo="),  // … and reply
        Vector(58, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", 146,
               "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 0, "1:fYC8+pz24E+EhANP1EZhpX0Dw10="),  // one-way
        Vector(46, "1.2.3.4", 0, "5.6.7.8", 0, "1:ikv3kmf89luf73WPz1jOs49S768="),         // RSVP: no ports
        Vector(46, "5.6.7.8", 0, "1.2.3.4", 0, "1:ikv3kmf89luf73WPz1jOs49S768="),
        Vector(46, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", 0,
               "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 0, "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0="),
        // seed=1.
        Vector(6, "1.2.3.4", 1122, "5.6.7.8", 3344, seed: 1, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="),
        Vector(6, "5.6.7.8", 3344, "1.2.3.4", 1122, seed: 1, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="),
        Vector(17, "1.2.3.4", 1122, "5.6.7.8", 3344, seed: 1, "1:OShq+iKDAMVouh/4bMxB9Sz4amw="),
        Vector(132, "5.6.7.8", 3344, "1.2.3.4", 1122, seed: 1, "1:uitchpn5MMGAQKBJh7bIr/bAr7s="),
        Vector(1, "5.6.7.8", 0, "1.2.3.4", 0, seed: 1, "1:9pr4ZGTICiuZoIh90RRYE2RyXpU="),
        Vector(1, "1.2.3.4", 11, "5.6.7.8", 0, seed: 1, "1:1DD7cWGC/Yg91YGsQeni8du3pIA="),
        Vector(58, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", 128,
               "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 0, seed: 1, "1:IO27GQzPuCtNnwFvjWALMHu5tJE="),
        Vector(58, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", 146,
               "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 0, seed: 1, "1:Cv4IKJe56BNkF0MBW2YxQ3Nwc3s="),
        Vector(46, "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 0,
               "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", 0, seed: 1, "1:j6EyyfBzL4vWKHFXgUqb5Az3OxM="),
    ]

    // Source: corelight/community-id-spec, baseline/baseline_deflt.json (flows from
    // pcaps/combined.pcap.gz), same commit. Real traffic; the ICMP rows there carry, for
    // request/response types, the counterpart type as "dport", which the mapping ignores.
    static let baselineJSON: [Vector] = [
        Vector(6, "2001:470:e5bf:dead:4957:2174:e82c:4887", 63943,
               "2607:f8b0:400c:c03::1a", 25, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="),       // TCP over IPv6 …
        Vector(6, "2607:f8b0:400c:c03::1a", 25,
               "2001:470:e5bf:dead:4957:2174:e82c:4887", 63943, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="),  // … and back
        Vector(6, "128.232.110.120", 34855, "66.35.250.204", 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="),
        Vector(6, "66.35.250.204", 80, "128.232.110.120", 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="),
        Vector(17, "192.168.1.52", 54585, "8.8.8.8", 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="),   // DNS
        Vector(17, "8.8.8.8", 53, "192.168.1.52", 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="),
        // Equal ports: the addresses alone decide the order.
        Vector(132, "192.168.170.8", 7, "192.168.170.56", 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="),
        Vector(132, "192.168.170.56", 7, "192.168.170.8", 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="),
        Vector(1, "192.168.0.89", 8, "192.168.0.1", 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="),     // ping …
        Vector(1, "192.168.0.1", 0, "192.168.0.89", 8, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="),     // … pong
        Vector(1, "10.0.0.1", 11, "10.0.0.2", 0, "1:YHxtAirCG//0OzkcVAukqKQN9xM="),
        Vector(58, "fe80::200:86ff:fe05:80da", 135, "fe80::260:97ff:fe07:69ea", 136, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY="),
        Vector(58, "fe80::260:97ff:fe07:69ea", 136, "fe80::200:86ff:fe05:80da", 135, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY="),
        Vector(58, "fe80::260:97ff:fe07:69ea", 135, "fe80::200:86ff:fe05:80da", 136, "1:zavyT/cezQr1fmImYCwYnMXbgck="),
        Vector(58, "3ffe:501:1800:2345::2", 3, "3ffe:507:0:1:200:86ff:fe05:80da", 0, "1:2ObVBgIn28oZvibYZhZMBgh7WdQ="),
        Vector(58, "3ffe:501:410:0:2c0:dfff:fe47:33e", 1, "3ffe:507:0:1:200:86ff:fe05:80da", 4, "1:hLZd0XGWojozrvxqE0dWB1iM6R0="),
        Vector(58, "3ffe:507:0:1:200:86ff:fe05:80da", 128, "3ffe:501:0:1001::2", 129, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg="),
        // The example ID quoted in the spec's README.md.
        Vector(58, "fe80::200:86ff:fe05:80da", 133, "ff02::2", 134, "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0="),
        Vector(46, "10.1.12.2", 0, "10.1.12.1", 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw="),
    ]

    func testBaselineVectors() {
        for v in Self.baselineTables + Self.baselineJSON {
            let got = CommunityID.v1(proto: v.proto, src: ip(v.src), srcPort: v.srcPort,
                                     dst: ip(v.dst), dstPort: v.dstPort, seed: v.seed)
            XCTAssertEqual(got.id, v.id, "proto \(v.proto) \(v.src):\(v.srcPort) → \(v.dst):\(v.dstPort) seed \(v.seed)")
        }
    }

    func testReversedDirectionGivesSameIDAndKey() {
        let out = CommunityID.v1(proto: 6, src: ip("1.2.3.4"), srcPort: 1122, dst: ip("5.6.7.8"), dstPort: 3344)
        let back = CommunityID.v1(proto: 6, src: ip("5.6.7.8"), srcPort: 3344, dst: ip("1.2.3.4"), dstPort: 1122)
        XCTAssertEqual(out.id, "1:wCb3OG7yAFWelaUydu0D+125CLM=")  // baseline/README.md, TCP row
        XCTAssertEqual(back.id, out.id)
        XCTAssertEqual(back.key, out.key)
    }

    func testOneWayICMPIsNotFlipped() {
        // Time exceeded (11) has no reply type, so each direction is its own flow.
        let out = CommunityID.v1(proto: 1, src: ip("1.2.3.4"), srcPort: 11, dst: ip("5.6.7.8"), dstPort: 0)
        let back = CommunityID.v1(proto: 1, src: ip("5.6.7.8"), srcPort: 11, dst: ip("1.2.3.4"), dstPort: 0)
        XCTAssertNotEqual(out.id, back.id)
    }

    /// `key` is the first 8 digest bytes, big-endian. The digests come from the spec's
    /// "No base64-encoding" table in baseline/README.md (same commit as above).
    func testKeyIsBigEndianDigestPrefix() {
        let cases: [(UInt8, UInt16, UInt16, String)] = [
            (6, 1122, 3344, "c026f7386ef200559e95a53276ed03fb5db908b3"),
            (17, 1122, 3344, "d0cbbd227431eb3e1988264cffb1d78b658c84e8"),
            (1, 8, 0, "72ba1d4472f6144b078dbbf752446b7dbb386d9d"),
        ]
        for (proto, sp, dp, digestHex) in cases {
            let got = CommunityID.v1(proto: proto, src: ip("1.2.3.4"), srcPort: sp, dst: ip("5.6.7.8"), dstPort: dp)
            let digest = bytes(hex: digestHex)
            XCTAssertEqual(got.id, "1:" + Base64.encode(digest))
            XCTAssertEqual(got.key, Int64(bitPattern: UInt64(digestHex.prefix(16), radix: 16)!))
        }
        // 0xc0… has the top bit set: the key is the bit pattern, so it is negative, not clamped.
        let tcp = CommunityID.v1(proto: 6, src: ip("1.2.3.4"), srcPort: 1122, dst: ip("5.6.7.8"), dstPort: 3344)
        XCTAssertEqual(tcp.key, Int64(bitPattern: 0xc026_f738_6ef2_0055))
        XCTAssertLessThan(tcp.key, 0)
    }

    /// The hashed bytes follow the spec's layout: seed, lower address, higher address, proto, 0,
    /// lower port, higher port. Hashing that layout by hand reproduces the baseline digest.
    func testHashInputLayout() {
        let input: [UInt8] = [0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 6, 0, 0x04, 0x62, 0x0d, 0x10]  // 1122 = 0x0462, 3344 = 0x0d10
        XCTAssertEqual(hex(SHA1.hash(input)), "c026f7386ef200559e95a53276ed03fb5db908b3")
    }

    func testIsOrdered() {
        let low = ip("10.0.0.1"), high = ip("127.0.0.1")
        XCTAssertTrue(CommunityID.isOrdered(src: low, srcPort: 1234, dst: high, dstPort: 80))
        XCTAssertFalse(CommunityID.isOrdered(src: high, srcPort: 80, dst: low, dstPort: 1234))
        // Bytewise, not textual: 9.x < 10.x even though "9" > "1".
        XCTAssertTrue(CommunityID.isOrdered(src: ip("9.0.0.1"), srcPort: 1, dst: ip("10.0.0.1"), dstPort: 1))
        // Equal addresses: the port decides; fully equal endpoints are not "lower".
        XCTAssertTrue(CommunityID.isOrdered(src: low, srcPort: 1, dst: low, dstPort: 2))
        XCTAssertFalse(CommunityID.isOrdered(src: low, srcPort: 2, dst: low, dstPort: 1))
        XCTAssertFalse(CommunityID.isOrdered(src: low, srcPort: 1, dst: low, dstPort: 1))
    }

    func testSamePortsSameAddressIsStable() {
        // A flow to itself (same address) orders by port, so both directions still agree.
        let a = CommunityID.v1(proto: 17, src: ip("::1"), srcPort: 5000, dst: ip("::1"), dstPort: 6000)
        let b = CommunityID.v1(proto: 17, src: ip("::1"), srcPort: 6000, dst: ip("::1"), dstPort: 5000)
        XCTAssertEqual(a.id, b.id)
    }
}

// MARK: - Helpers

private func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xf)]] })
}

private func bytes(hex: String) -> [UInt8] {
    let chars = Array(hex)
    return stride(from: 0, to: chars.count, by: 2).map { UInt8(String(chars[$0...$0 + 1]), radix: 16)! }
}

/// Network-order bytes of a dotted-quad IPv4 or an IPv6 address (with at most one `::`).
private func ip(_ text: String) -> [UInt8] {
    if text.contains(".") {
        return text.split(separator: ".").map { UInt8($0)! }
    }
    // Groups before and after the "::" gap; the gap stands for however many zero groups make eight.
    var head: [UInt16] = [], tail: [UInt16] = [], sawGap = false
    for part in text.split(separator: ":", omittingEmptySubsequences: false) {
        if part.isEmpty {
            sawGap = true
        } else if sawGap {
            tail.append(UInt16(part, radix: 16)!)
        } else {
            head.append(UInt16(part, radix: 16)!)
        }
    }
    let groups = head + [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
    return groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
}
