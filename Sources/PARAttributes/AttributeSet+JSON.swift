import Foundation

/// The JSON form, as in `configs/attributes/*.json`:
///
///     {"name": "PA100k",
///      "attributes": [{"name": "female", "sentence": "A female pedestrian"}, ...],
///      "exclusive_groups": [{"name": "age", "members": ["age_over_60", "age_18_to_60", "age_under_18"]}]}
///
/// `exclusive_groups` may be left out. Any other key is an error.
extension AttributeSet {
    /// Reads and checks a file in the format of `configs/attributes/*.json`; errors name the file and the
    /// JSON path of the problem.
    public init(contentsOf url: URL) throws(AttributeSetError) {
        let file = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else {
            throw .unreadable(file: file, reason: "no such file")
        }
        guard !isDirectory.boolValue else { throw .unreadable(file: file, reason: "is a directory") }
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .unreadable(file: file, reason: "\(error.localizedDescription)") }
        try self.init(json: data, source: file)
    }

    /// Parses and checks the JSON form; `source` names it in errors (a file path, or where the text
    /// came from, such as a model file's metadata).
    public init(json data: Data, source: String) throws(AttributeSetError) {
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data, options: []) } catch {
            throw .notJSON(file: source, reason: "\(error.localizedDescription)")
        }
        let reader = Reader(source: source)
        let top = try reader.object(root, at: "$", keys: ["name", "attributes", "exclusive_groups"])
        let name = try reader.string(top, "name", at: "$")
        let list = try reader.array(top, "attributes", at: "$")
        var attributes: [Attribute] = []
        for (i, item) in list.enumerated() {
            let path = "$.attributes[\(i)]"
            let o = try reader.object(item, at: path, keys: ["name", "sentence"])
            attributes.append(Attribute(name: try reader.string(o, "name", at: path),
                                        sentence: try reader.string(o, "sentence", at: path)))
        }
        var groups: [(name: String, members: [String])] = []
        if top["exclusive_groups"] != nil {
            for (g, item) in try reader.array(top, "exclusive_groups", at: "$").enumerated() {
                let path = "$.exclusive_groups[\(g)]"
                let o = try reader.object(item, at: path, keys: ["name", "members"])
                let groupName = try reader.string(o, "name", at: path)
                let members = try reader.array(o, "members", at: path).enumerated().map { (m, member) throws(AttributeSetError) -> String in
                    guard let s = member as? String else {
                        throw .wrongType(file: source, path: "\(path).members[\(m)]", expected: "an attribute name (string)")
                    }
                    return s
                }
                groups.append((groupName, members))
            }
        }
        try self.init(name: name, attributes: attributes, exclusiveGroups: groups, source: source)
    }

    /// The JSON form, laid out as the files in `configs/attributes` are (one attribute per line), so
    /// that `AttributeSet(json: set.jsonData(), source: ...) == set`.
    public func jsonData() -> Data {
        var lines = ["{", "  \"name\": \(Self.quoted(name)),", "  \"attributes\": ["]
        for (i, a) in attributes.enumerated() {
            lines.append("    {\"name\": \(Self.quoted(a.name)), \"sentence\": \(Self.quoted(a.sentence))}"
                         + (i < attributes.count - 1 ? "," : ""))
        }
        lines.append("  ],")
        if exclusiveGroups.isEmpty {
            lines.append("  \"exclusive_groups\": []")
        } else {
            lines.append("  \"exclusive_groups\": [")
            for (g, group) in exclusiveGroups.enumerated() {
                let members = group.members.map { Self.quoted(names[$0]) }.joined(separator: ", ")
                lines.append("    {\"name\": \(Self.quoted(group.name)), \"members\": [\(members)]}"
                             + (g < exclusiveGroups.count - 1 ? "," : ""))
            }
            lines.append("  ]")
        }
        lines.append("}")
        return Data((lines.joined(separator: "\n") + "\n").utf8)
    }

    /// `s` as a JSON string literal (non-ASCII characters as they are).
    static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    /// The path of `key` inside the object at `path`: `$.name`, or `$["odd key"]` for keys that are not
    /// plain identifiers.
    static func path(_ path: String, _ key: String) -> String {
        let plain = key.unicodeScalars.first.map { $0 == "_" || ("a"..."z").contains($0) || ("A"..."Z").contains($0) } ?? false
            && key.unicodeScalars.allSatisfy { $0 == "_" || ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) }
        return plain ? "\(path).\(key)" : "\(path)[\(quoted(key))]"
    }

    /// Typed access to parsed JSON, throwing errors that name the source and the path.
    private struct Reader {
        let source: String

        /// `value` as an object whose keys are all in `keys` (the first unknown key, in sorted order,
        /// is the error).
        func object(_ value: Any, at path: String, keys: Set<String>) throws(AttributeSetError) -> [String: Any] {
            guard let o = value as? [String: Any] else { throw .wrongType(file: source, path: path, expected: "an object") }
            if let unknown = o.keys.filter({ !keys.contains($0) }).sorted().first {
                throw .unknownKey(file: source, path: AttributeSet.path(path, unknown))
            }
            return o
        }

        /// The string at `key`, which must be present.
        func string(_ o: [String: Any], _ key: String, at path: String) throws(AttributeSetError) -> String {
            let p = AttributeSet.path(path, key)
            guard let value = o[key] else { throw .missingKey(file: source, path: p) }
            guard let s = value as? String else { throw .wrongType(file: source, path: p, expected: "a string") }
            return s
        }

        /// The array at `key`, which must be present.
        func array(_ o: [String: Any], _ key: String, at path: String) throws(AttributeSetError) -> [Any] {
            let p = AttributeSet.path(path, key)
            guard let value = o[key] else { throw .missingKey(file: source, path: p) }
            guard let a = value as? [Any] else { throw .wrongType(file: source, path: p, expected: "an array") }
            return a
        }
    }
}
