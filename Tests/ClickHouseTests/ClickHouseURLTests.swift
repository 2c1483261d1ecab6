import XCTest
@testable import ClickHouse

final class ClickHouseURLTests: XCTestCase {
    func testFullURL() throws {
        let u = try ClickHouseURL("clickhouse+http://alice:s3cret@ch.example:8124/tj?dataset=case-1&cluster=tj2")
        XCTAssertFalse(u.tls)
        XCTAssertEqual(u.hosts, [.init(name: "ch.example", port: 8124)])
        XCTAssertEqual(u.database, "tj")
        XCTAssertEqual(u.dataset, "case-1")
        XCTAssertEqual(u.cluster, "tj2")
        XCTAssertEqual(u.user, "alice")
        XCTAssertEqual(u.password, "s3cret")
        XCTAssertEqual(u.baseURL(u.hosts[0]), "http://ch.example:8124")
    }

    func testDefaults() throws {
        let u = try ClickHouseURL("clickhouse+https://ch.example/tj")
        XCTAssertTrue(u.tls)
        XCTAssertEqual(u.hosts[0].port, 8443, "https defaults to ClickHouse's TLS HTTP port")
        XCTAssertEqual(try ClickHouseURL("clickhouse+http://ch.example/tj").hosts[0].port, 8123)
        XCTAssertEqual(u.dataset, "default")
        XCTAssertEqual(u.user, "default")
        XCTAssertEqual(u.password, "")
        XCTAssertNil(u.cluster)
        XCTAssertEqual(u.baseURL(u.hosts[0]), "https://ch.example:8443")
    }

    func testShardsAndIPv6Hosts() throws {
        let u = try ClickHouseURL("clickhouse+http://127.0.0.1:18123,[::1]:18124/tj?cluster=tj2")
        XCTAssertEqual(u.hosts, [.init(name: "127.0.0.1", port: 18123), .init(name: "::1", port: 18124)])
        XCTAssertEqual(u.baseURL(u.hosts[1]), "http://[::1]:18124")
    }

    func testUserAndPasswordPrecedence() throws {
        let env = [ClickHouseURL.passwordVariable: "from-env"]
        // --user wins over the URL's user; the URL's password over the environment's.
        let a = try ClickHouseURL("clickhouse+http://bob:from-url@h/tj", user: "carol", environment: env)
        XCTAssertEqual(a.user, "carol")
        XCTAssertEqual(a.password, "from-url")
        let b = try ClickHouseURL("clickhouse+http://bob@h/tj", environment: env)
        XCTAssertEqual(b.user, "bob")
        XCTAssertEqual(b.password, "from-env")
        let c = try ClickHouseURL("clickhouse+http://b%40x:p%2Fw%3A@h/tj")
        XCTAssertEqual(c.user, "b@x")
        XCTAssertEqual(c.password, "p/w:", "percent-escapes are decoded")
    }

    func testPasswordNeverShown() throws {
        let u = try ClickHouseURL("clickhouse+http://bob:hunter2@h:9/tj?dataset=d")
        XCTAssertEqual(u.description, "clickhouse+http://bob@h:9/tj?dataset=d")
        XCTAssertFalse("\(u)".contains("hunter2"))
        // A password with an unescaped '/' stays whole: no piece of it becomes a host in an error.
        let v = try ClickHouseURL("clickhouse+http://bob:hun/ter2@h/tj")
        XCTAssertEqual(v.password, "hun/ter2")
        // Errors about the credentials name the part, never its text.
        XCTAssertThrowsError(try ClickHouseURL("clickhouse+http://bob:hunter2%zz@h/tj")) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("password has a malformed %-escape"), text)
            XCTAssertFalse(text.contains("hunter2"), text)
        }
        XCTAssertThrowsError(try ClickHouseURL("clickhouse+http://bob:hunter2@h:notaport/tj")) { e in
            XCTAssertFalse("\(e)".contains("hunter2"), "\(e)")
        }
    }

    func testBadURLsSayWhy() {
        let cases: [(String, String)] = [
            ("http://h/tj", "wants clickhouse+http://"),
            ("clickhouse+http://h", "names no database"),
            ("clickhouse+http://h/tj;DROP", "is not a plain name"),
            ("clickhouse+http://h/1tj", "is not a plain name"),
            ("clickhouse+http://h:0/tj", "port wants a number 1–65535"),
            ("clickhouse+http://h:70000/tj", "port wants a number 1–65535"),
            ("clickhouse+http:///tj", "is not a host name"),
            ("clickhouse+http://h/tj?dataset=a'b", "dataset"),
            ("clickhouse+http://h/tj?dataset=", "dataset"),
            ("clickhouse+http://h/tj?datset=x", "unknown parameter \"datset\""),
            ("clickhouse+http://h/tj?cluster=a-b", "cluster"),
            ("clickhouse+http://a:1,b:2/tj", "name the cluster"),
            ("clickhouse+http://h/tj?retention_days=0", "retention_days"),
            ("clickhouse+http://h/tj?compression=zstd", "compression wants gzip or none"),
        ]
        for (text, reason) in cases {
            XCTAssertThrowsError(try ClickHouseURL(text), text) { e in
                XCTAssertTrue("\(e)".contains(reason), "\(text): \(e)")
            }
        }
    }

    func testIsClickHouse() {
        XCTAssertTrue(ClickHouseURL.isClickHouse("clickhouse+http://h/tj"))
        XCTAssertTrue(ClickHouseURL.isClickHouse("clickhouse+https://h/tj"))
        XCTAssertFalse(ClickHouseURL.isClickHouse("case.db"))
        XCTAssertFalse(ClickHouseURL.isClickHouse("clickhouse.db"))
    }
}
