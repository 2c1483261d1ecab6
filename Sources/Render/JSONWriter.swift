import EventStore
import TraceModel

/// A JSON object with its keys in the order they were added (stable output users can diff).
/// Built into one string as fields come (keys are the program's own, plain ASCII).
public struct JSONObject {
    private var body = ""

    private mutating func key(_ k: String) {
        body += body.isEmpty ? "\"" : ",\""
        body += k
        body += "\":"
    }

    public init() {}

    public mutating func add(_ k: String, _ value: String?) { if let value { key(k); body += jsonString(value) } }
    public mutating func add(_ k: String, _ value: Int64?) { if let value { key(k); body += String(value) } }
    public mutating func add(_ k: String, _ value: Int?) { if let value { key(k); body += String(value) } }
    public mutating func add(_ k: String, _ value: Double?) { if let value { key(k); body += "\(value)" } }
    public mutating func add(_ k: String, _ value: Bool?) { if let value { key(k); body += value ? "true" : "false" } }
    public mutating func add(_ k: String, strings: [String]) { key(k); body += "[" + strings.map(jsonString).joined(separator: ",") + "]" }
    public mutating func add(_ k: String, raw json: String?) { if let json { key(k); body += json } }
    /// Adds the value, or `null` when there is none (keys a consumer may rely on being present).
    public mutating func addOrNull(_ key: String, _ value: String?) { if let value { add(key, value) } else { addNull(key) } }
    public mutating func addOrNull(_ key: String, _ value: Int64?) { if let value { add(key, value) } else { addNull(key) } }

    /// Adds `null` explicitly.
    public mutating func addNull(_ k: String) { key(k); body += "null" }

    public var text: String { "{" + body + "}" }
    public var isEmpty: Bool { body.isEmpty }
}

/// One CSV field, quoted when it must be (RFC 4180).
public func csvField(_ s: String) -> String {
    if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
    return s
}

import Foundation
