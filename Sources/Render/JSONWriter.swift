import EventStore

/// A JSON object with its keys in the order they were added (stable output users can diff).
public struct JSONObject {
    private var parts: [String] = []

    public init() {}

    public mutating func add(_ key: String, _ value: String?) { if let value { parts.append("\(jsonString(key)):\(jsonString(value))") } }
    public mutating func add(_ key: String, _ value: Int64?) { if let value { parts.append("\(jsonString(key)):\(value)") } }
    public mutating func add(_ key: String, _ value: Int?) { if let value { parts.append("\(jsonString(key)):\(value)") } }
    public mutating func add(_ key: String, _ value: Double?) { if let value { parts.append("\(jsonString(key)):\(value)") } }
    public mutating func add(_ key: String, _ value: Bool?) { if let value { parts.append("\(jsonString(key)):\(value)") } }
    public mutating func add(_ key: String, strings: [String]) { parts.append("\(jsonString(key)):[\(strings.map(jsonString).joined(separator: ","))]") }
    public mutating func add(_ key: String, raw json: String?) { if let json { parts.append("\(jsonString(key)):\(json)") } }
    /// Adds the value, or `null` when there is none (keys a consumer may rely on being present).
    public mutating func addOrNull(_ key: String, _ value: String?) { if let value { add(key, value) } else { addNull(key) } }
    public mutating func addOrNull(_ key: String, _ value: Int64?) { if let value { add(key, value) } else { addNull(key) } }

    /// Adds `null` explicitly.
    public mutating func addNull(_ key: String) { parts.append("\(jsonString(key)):null") }

    public var text: String { "{" + parts.joined(separator: ",") + "}" }
}

/// One CSV field, quoted when it must be (RFC 4180).
public func csvField(_ s: String) -> String {
    if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
    return s
}

import Foundation
