import Foundation

/// What can go wrong talking to ClickHouse, worded for the user. No case carries the password: the client
/// scrubs server texts of it before they get here.
public enum ClickHouseError: Error, CustomStringConvertible, Equatable {
    /// No HTTP answer: nothing listens, a timeout, the connection broke.
    case unreachable(host: String, why: String)
    /// The server refused the user or the password (codes 192, 193, 195, 497, 516).
    case refused(host: String, user: String, code: Int, message: String)
    /// Older than the oldest release the backend knows (18.16).
    case tooOld(host: String, version: String)
    /// Any other exception the server reported.
    case server(host: String, code: Int?, message: String)
    /// An answer that does not read as expected.
    case protocolError(host: String, what: String)
    /// The push found rows it cannot account for.
    case incomplete(String)

    public var description: String {
        switch self {
        case .unreachable(let host, let why):
            return "ClickHouse at \(host) cannot be reached: \(why)"
        case .refused(let host, let user, let code, let message):
            return "ClickHouse at \(host) refused user \(user) (code \(code): \(message)); check --user, the URL's user, or \(ClickHouseURL.passwordVariable)"
        case .tooOld(let host, let version):
            return "ClickHouse at \(host) is \(version); tracejoin needs \(ServerVersion.oldest) or later"
        case .server(let host, let code, let message):
            return "ClickHouse at \(host) answered" + (code.map { " code \($0)" } ?? "") + ": \(message)"
        case .protocolError(let host, let what):
            return "ClickHouse at \(host): unexpected answer: \(what)"
        case .incomplete(let what):
            return what
        }
    }

    static let authenticationCodes: Set<Int> = [192, 193, 195, 497, 516]

    /// Reads `Code: 193, e.displayText() = DB::Exception: Wrong password for user tj, e.what() = DB::Exception`
    /// (18.16) or `Code: 516. DB::Exception: tj: Authentication failed… (AUTHENTICATION_FAILED) (version 24.3…)`.
    static func fromServer(status: Int, body: String, host: String, user: String) -> ClickHouseError {
        let code = Self.code(body)
        let message = Self.message(body)
        if status == 401 || status == 403 || code.map(authenticationCodes.contains) == true {
            return .refused(host: host, user: user, code: code ?? status, message: message)
        }
        return .server(host: host, code: code, message: message.isEmpty ? "HTTP \(status)" : message)
    }

    static func code(_ body: String) -> Int? {
        guard let r = body.range(of: "Code: ") else { return nil }
        return Int(body[r.upperBound...].prefix(while: { $0.isNumber }))
    }

    /// The exception's own words, without the `e.what()` tail and the stack; at most 300 characters.
    static func message(_ body: String) -> String {
        var s = Substring(body.trimmingCharacters(in: .whitespacesAndNewlines))
        if let r = s.range(of: "DB::Exception: ") { s = s[r.upperBound...] }
        if let r = s.range(of: ", e.what() = ") { s = s[..<r.lowerBound] }
        if let r = s.range(of: "\nStack trace") { s = s[..<r.lowerBound] }
        let line = s.split(separator: "\n").first.map(String.init) ?? ""
        return line.count > 300 ? String(line.prefix(300)) + "…" : line
    }
}
