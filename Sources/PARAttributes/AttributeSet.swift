import Foundation

/// The attributes a model's heads predict, in head order: a short name for event fields, the sentence
/// the text encoder reads, and groups whose members exclude each other (at most one label per group).
public struct AttributeSet: Sendable, Equatable {
    public let name: String
    /// Head order.
    public let names: [String]
    public let sentences: [String]
    /// Exclusive groups: name and member indices.
    public let groups: [(name: String, members: [Int])]

    public var count: Int { names.count }

    public static func == (a: AttributeSet, b: AttributeSet) -> Bool {
        a.name == b.name && a.names == b.names && a.sentences == b.sentences
            && a.groups.map(\.name) == b.groups.map(\.name) && a.groups.map(\.members) == b.groups.map(\.members)
    }

    /// Reads and validates a file in the format of `configs/attributes/*.json`.
    public init(contentsOf url: URL) throws(AttributeSetError) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .unreadable(url.path, error.localizedDescription) }
        try self.init(json: data, source: url.path)
    }

    /// Parses and validates the JSON form; `source` names it in errors.
    public init(json data: Data, source: String) throws(AttributeSetError) {
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data) } catch { throw .unreadable(source, "not JSON: \(error.localizedDescription)") }
        guard let top = root as? [String: Any] else { throw .invalid(source, "$", "expected an object") }
        for key in top.keys where !["name", "attributes", "exclusive_groups"].contains(key) {
            throw .invalid(source, "$.\(key)", "unknown key")
        }
        guard let name = top["name"] as? String, !name.isEmpty else { throw .invalid(source, "$.name", "expected a non-empty string") }
        guard let list = top["attributes"] as? [Any], !list.isEmpty else {
            throw .invalid(source, "$.attributes", "expected a non-empty array")
        }
        var names: [String] = [], sentences: [String] = []
        for (i, item) in list.enumerated() {
            let path = "$.attributes[\(i)]"
            guard let o = item as? [String: Any] else { throw .invalid(source, path, "expected an object") }
            for key in o.keys where key != "name" && key != "sentence" { throw .invalid(source, "\(path).\(key)", "unknown key") }
            guard let n = o["name"] as? String, AttributeSet.isFieldName(n) else {
                throw .invalid(source, "\(path).name", "expected a snake_case name (a-z, 0-9, _)")
            }
            guard let s = o["sentence"] as? String, !s.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw .invalid(source, "\(path).sentence", "expected a non-empty sentence")
            }
            if names.contains(n) { throw .invalid(source, "\(path).name", "duplicate attribute '\(n)'") }
            names.append(n); sentences.append(s)
        }
        var groups: [(String, [Int])] = []
        var grouped: [Int: String] = [:]
        for (g, item) in ((top["exclusive_groups"] as? [Any]) ?? []).enumerated() {
            let path = "$.exclusive_groups[\(g)]"
            guard let o = item as? [String: Any] else { throw .invalid(source, path, "expected an object") }
            for key in o.keys where key != "name" && key != "members" { throw .invalid(source, "\(path).\(key)", "unknown key") }
            guard let gname = o["name"] as? String, !gname.isEmpty else { throw .invalid(source, "\(path).name", "expected a name") }
            guard let members = o["members"] as? [String], members.count >= 2 else {
                throw .invalid(source, "\(path).members", "expected at least two attribute names")
            }
            var indices: [Int] = []
            for (m, member) in members.enumerated() {
                guard let i = names.firstIndex(of: member) else {
                    throw .invalid(source, "\(path).members[\(m)]", "'\(member)' is not an attribute of this set")
                }
                if let other = grouped[i] { throw .invalid(source, "\(path).members[\(m)]", "'\(member)' is already in group '\(other)'") }
                grouped[i] = gname
                indices.append(i)
            }
            groups.append((gname, indices))
        }
        if top["exclusive_groups"] != nil, !(top["exclusive_groups"] is [Any]) {
            throw .invalid(source, "$.exclusive_groups", "expected an array")
        }
        self.name = name
        self.names = names
        self.sentences = sentences
        self.groups = groups
    }

    /// Field names are snake_case.
    static func isFieldName(_ s: String) -> Bool {
        !s.isEmpty && s.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
            && !(s.first?.isNumber ?? true)
    }

    /// The JSON form (as in `configs/attributes`), for pard's own model files.
    public func jsonData() -> Data {
        let object: [String: Any] = [
            "name": name,
            "attributes": zip(names, sentences).map { ["name": $0.0, "sentence": $0.1] },
            "exclusive_groups": groups.map { ["name": $0.name, "members": $0.members.map { names[$0] }] as [String: Any] },
        ]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    }

    /// Indices of the labels: attributes at or over `threshold`, head order; within an exclusive group
    /// only the most probable member, and only if it is at or over the threshold.
    public func labels(probabilities p: [Float], threshold: Float) -> [Int] {
        var keep = p.indices.map { p[$0] >= threshold }
        for group in groups {
            guard let best = group.members.max(by: { p[$0] < p[$1] }) else { continue }
            for m in group.members where m != best { keep[m] = false }
        }
        return p.indices.filter { keep[$0] && $0 < names.count }
    }
}
