import Yams

/// The entries of a YAML mapping in the configuration, checked against the keys allowed there.
///
/// YAML merge keys (`<<: *defaults`) are honoured: the merged mapping's entries count as if written
/// here, unless a key is also given directly (which wins).
struct ConfigMapping {
    /// The mapping node, for "missing key" errors.
    let owner: ConfigValue
    /// Key text to value, in document order.
    private(set) var entries: [(key: String, value: ConfigValue)] = []

    init(mapping: Node.Mapping, of owner: ConfigValue, keys allowed: [String]) throws(ConfigError) {
        self.owner = owner
        var merged: [(key: String, value: ConfigValue)] = []
        for (keyNode, valueNode) in mapping {
            let keyValue = ConfigValue(node: keyNode, path: owner.path, file: owner.file)
            guard case .scalar(let scalar) = keyNode else { throw keyValue.error("keys must be plain names, got \(keyValue.shown)") }
            let key = scalar.string
            let path = owner.path.isEmpty ? key : "\(owner.path).\(key)"
            if key == "<<" {
                let source = ConfigValue(node: valueNode, path: path, file: owner.file)
                let sources: [ConfigValue] = if case .sequence = valueNode { try source.sequence() } else { [source] }
                for item in sources {
                    let inner = try ConfigValue(node: item.node, path: owner.path, file: owner.file).mapping(keys: allowed)
                    merged.append(contentsOf: inner.entries)
                }
                continue
            }
            guard allowed.contains(key) else {
                var message = "unknown key"
                if let suggestion = Self.suggestion(for: key, among: allowed) { message += " (did you mean \"\(suggestion)\"?)" }
                message += "; allowed here: " + allowed.joined(separator: ", ")
                // A URL written as a key (`rtsp://user:password@host/x: ...`) is named without its password.
                let shownKey = URLRedaction.redact(key)
                let shownPath = owner.path.isEmpty ? shownKey : "\(owner.path).\(shownKey)"
                throw ConfigError(file: owner.file, line: keyNode.mark?.line, keyPath: shownPath, message: message)
            }
            entries.append((key, ConfigValue(node: valueNode, path: path, file: owner.file)))
        }
        for entry in merged where !entries.contains(where: { $0.key == entry.key }) { entries.append(entry) }
    }

    /// The value of `key`, or nil when it is absent or null.
    func optional(_ key: String) -> ConfigValue? {
        guard let value = entries.first(where: { $0.key == key })?.value, !value.isNull else { return nil }
        return value
    }

    /// The value of `key`; an error at the mapping when it is absent or null.
    func required(_ key: String, _ expected: String) throws(ConfigError) -> ConfigValue {
        guard let value = optional(key) else {
            let path = owner.path.isEmpty ? key : "\(owner.path).\(key)"
            throw ConfigError(file: owner.file, line: owner.line, keyPath: path, message: "missing; expected \(expected)")
        }
        return value
    }

    /// Whether `key` was given a (non-null) value.
    func has(_ key: String) -> Bool { optional(key) != nil }

    /// The allowed key closest to `key` (a typo, another case or `-` for `_`), if close enough.
    static func suggestion(for key: String, among allowed: [String]) -> String? {
        let normalized = key.lowercased().replacingOccurrences(of: "-", with: "_")
        if let exact = allowed.first(where: { $0 == normalized }) { return exact }
        let scored = allowed.map { ($0, editDistance(normalized, $0)) }.min { $0.1 < $1.1 }
        guard let (best, distance) = scored, distance <= max(2, best.count / 4) else { return nil }
        return best
    }

    /// Levenshtein distance between two short strings.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
