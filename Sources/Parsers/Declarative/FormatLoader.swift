import Foundation

/// Finds and compiles the declarative format files: those shipped with tracejoin (`parsers/` of the
/// repository or of the installation), the user's (`~/.config/tracejoin/parsers`) and any `--parsers DIR`.
/// A file that does not compile is reported and skipped; the others load. A later file with an id already
/// taken (a user's own `syslog_rfc3164`) replaces the earlier one.
public enum FormatLoader {
    public struct Result {
        public var formats: [DeclarativeFormat] = []
        public var errors: [String] = []
    }

    /// The folders searched, in order: shipped, the user's, then the ones given.
    public static func folders(extra: [String]) -> [String] {
        var out: [String] = []
        if let shipped = shippedFolder() { out.append(shipped) }
        let home = FileManager.default.homeDirectoryForCurrentUser.path
        out.append(home + "/.config/tracejoin/parsers")
        return out + extra
    }

    /// `parsers/` beside the executable's checkout (…/.build/debug/tracejoin → …/parsers) or its install
    /// prefix (…/bin/tracejoin → …/share/tracejoin/parsers); `TRACEJOIN_PARSERS` overrides.
    static func shippedFolder() -> String? {
        if let env = ProcessInfo.processInfo.environment["TRACEJOIN_PARSERS"] { return env }
        let exe = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<5 {
            for candidate in [dir.appendingPathComponent("parsers"), dir.appendingPathComponent("share/tracejoin/parsers")] {
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDir), isDir.boolValue { return candidate.path }
            }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    public static func load(folders: [String]) -> Result {
        var r = Result()
        var byID: [String: Int] = [:]
        for folder in folders {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { continue }
            for name in names.sorted() where name.hasSuffix(".json") {
                let path = (folder as NSString).appendingPathComponent(name)
                do {
                    let f = try compile(path: path)
                    if let builtIn = Registry.parsers.first(where: { $0.id == f.id }) {
                        r.errors.append("\(path): name: \(f.id) is a built-in format (\(builtIn.summary)); skipped")
                        continue
                    }
                    if let i = byID[f.id] { r.formats[i] = f } else { byID[f.id] = r.formats.count; r.formats.append(f) }
                } catch let e as FormatFileError {
                    r.errors.append("\(e.description); skipped")
                } catch {
                    r.errors.append("\(path): \(error); skipped")
                }
            }
        }
        return r
    }

    public static func compile(path: String) throws -> DeclarativeFormat {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch { throw FormatFileError(file: path, field: "-", message: "cannot read it") }
        let spec: DeclarativeFormat.Spec
        do {
            spec = try JSONDecoder().decode(DeclarativeFormat.Spec.self, from: data)
        } catch DecodingError.keyNotFound(let key, let ctx) {
            throw FormatFileError(file: path, field: (ctx.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: "."), message: "missing")
        } catch DecodingError.typeMismatch(_, let ctx) {
            throw FormatFileError(file: path, field: ctx.codingPath.map(\.stringValue).joined(separator: "."), message: "wrong type: \(ctx.debugDescription)")
        } catch {
            throw FormatFileError(file: path, field: "-", message: "not JSON: \(error.localizedDescription)")
        }
        return try DeclarativeFormat(spec: spec, origin: path)
    }
}
