/// Service names that tools print instead of port numbers.
///
/// Wireshark resolves transport names (`rmiactivation > http`, `wsdapi`); Network Monitor prints its own
/// labels with the number (`MS WBT Server(3389)`, `DCE endpoint resolution(135)`). This built-in table
/// holds every name the seeds show plus the common ones; `/etc/services` adds the rest at run time
/// (`ServiceNames.merge`), because Wireshark's names come from the same IANA registry.
public struct ServiceNames: Sendable {
    private var byName: [String: Int32]

    public static let builtIn: [(String, Int32)] = [
        ("ftp-data", 20), ("ftp", 21), ("ssh", 22), ("telnet", 23), ("smtp", 25), ("domain", 53), ("dns", 53),
        ("bootps", 67), ("bootpc", 68), ("tftp", 69), ("http", 80), ("www", 80), ("www-http", 80), ("kerberos", 88),
        ("kerberos-sec", 88), ("pop3", 110), ("sunrpc", 111), ("ntp", 123), ("epmap", 135), ("loc-srv", 135),
        ("dce endpoint resolution", 135), ("netbios-ns", 137), ("netbios-dgm", 138), ("netbios-ssn", 139),
        ("imap", 143), ("snmp", 161), ("snmptrap", 162), ("ldap", 389), ("https", 443), ("microsoft-ds", 445),
        ("kpasswd", 464), ("isakmp", 500), ("syslog", 514), ("submission", 587), ("ldaps", 636), ("imaps", 993),
        ("pop3s", 995), ("rmiactivation", 1098), ("rmiregistry", 1099), ("ms-sql-s", 1433), ("ms-sql-m", 1434),
        ("pptp", 1723), ("radius", 1812), ("nfs", 2049), ("msft-gc", 3268), ("msft-gc-ssl", 3269),
        ("ms-wbt-server", 3389), ("ms wbt server", 3389), ("stun", 3478), ("ipsec-nat-t", 4500), ("sip", 5060),
        ("sips", 5061), ("sip-tls", 5061), ("wsdapi", 5357), ("wsdapi-s", 5358), ("wsman", 5985), ("wsmans", 5986),
        ("http-alt", 8080), ("webcache", 8080), ("sun-answerbook", 8888), ("siteminder", 44443),
    ]

    public init() {
        byName = [:]
        for (n, p) in ServiceNames.builtIn { byName[n] = p }
    }

    /// Adds names from `/etc/services` text; built-in entries win, so results never depend on the host.
    public mutating func merge(etcServices text: String) {
        for line in text.split(separator: "\n") {
            let body = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = body.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2 else { continue }
            let pp = fields[1].split(separator: "/")
            guard pp.count == 2, let port = Int32(pp[0]) else { continue }
            for name in [fields[0]] + fields.dropFirst(2) where byName[name.lowercased()] == nil {
                byName[name.lowercased()] = port
            }
        }
    }

    /// A port from a number or a name, case-insensitively; `MS WBT Server(3389)` gives 3389.
    public func port(_ text: Substring) -> Int32? {
        if let n = Int32(text), n >= 0, n <= 65535 { return n }
        if text.hasSuffix(")"), let open = text.lastIndex(of: "("),
           let n = Int32(text[text.index(after: open)..<text.index(before: text.endIndex)]) {
            return n
        }
        return byName[text.lowercased()]
    }
}
