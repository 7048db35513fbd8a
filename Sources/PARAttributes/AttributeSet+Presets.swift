import Foundation

extension AttributeSet {
    /// Preset file names by lower-cased set name.
    public static let presetFiles: [String: String] = [
        "pa100k": "pa100k.json", "peta": "peta.json", "petazs": "petazs.json", "rapv1": "rapv1.json",
        "rapv2": "rapv2.json", "rapzs": "rapzs.json", "wider": "wider.json", "upar": "upar.json",
    ]

    /// Where presets are looked for, in order: `$PARD_DATA_DIR/attributes`; `configs/attributes` or
    /// `share/pard/attributes` in the executable's folder or any folder above it (so a source checkout's
    /// `.build/release/pard` finds the repository's presets); `/usr/local/share/pard/attributes`;
    /// `/usr/share/pard/attributes`.
    public static func defaultSearchPaths(environment: [String: String] = ProcessInfo.processInfo.environment) -> [URL] {
        var paths: [URL] = []
        if let d = environment["PARD_DATA_DIR"] { paths.append(URL(fileURLWithPath: d).appendingPathComponent("attributes")) }
        var dir = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        while dir.path != "/" {
            for sub in ["configs/attributes", "share/pard/attributes"] {
                let candidate = dir.appendingPathComponent(sub)
                if FileManager.default.fileExists(atPath: candidate.path) { paths.append(candidate) }
            }
            dir = dir.deletingLastPathComponent()
        }
        paths.append(URL(fileURLWithPath: "/usr/local/share/pard/attributes"))
        paths.append(URL(fileURLWithPath: "/usr/share/pard/attributes"))
        return paths
    }

    /// A preset by name, case-insensitive (`PA100k`, `pa100k`).
    public static func preset(named name: String, searchPaths: [URL]) throws(AttributeSetError) -> AttributeSet {
        guard let file = presetFiles[name.lowercased()] else {
            throw .unknownPreset(name, known: presetNames)
        }
        for dir in searchPaths {
            let url = dir.appendingPathComponent(file)
            if FileManager.default.fileExists(atPath: url.path) { return try AttributeSet(contentsOf: url) }
        }
        throw .presetNotFound(name, looked: searchPaths.map { $0.appendingPathComponent(file).path })
    }

    /// The preset names, as written in their files.
    public static let presetNames = ["PA100k", "PETA", "PETAzs", "RAPV1", "RAPV2", "RAPzs", "WIDER", "UPAR"]

    /// The set for a model with `attributeCount` heads: `nameOrFile` is a JSON file (a path ending in
    /// `.json` or an existing file) or a preset name; nil picks the one preset of that size, and is an
    /// error listing the candidates when several fit or saying that none does.
    public static func resolve(_ nameOrFile: String?, attributeCount: Int, searchPaths: [URL]) throws(AttributeSetError) -> AttributeSet {
        let set: AttributeSet
        if let nameOrFile {
            if nameOrFile.hasSuffix(".json") || (presetFiles[nameOrFile.lowercased()] == nil && FileManager.default.fileExists(atPath: nameOrFile)) {
                set = try AttributeSet(contentsOf: URL(fileURLWithPath: nameOrFile))
            } else {
                set = try preset(named: nameOrFile, searchPaths: searchPaths)
            }
        } else {
            var fits: [AttributeSet] = []
            for name in presetNames {
                let p = try preset(named: name, searchPaths: searchPaths)
                if p.count == attributeCount { fits.append(p) }
            }
            guard fits.count == 1, let only = fits.first else {
                throw .ambiguous(attributeCount: attributeCount, candidates: fits.map(\.name))
            }
            set = only
        }
        guard set.count == attributeCount else {
            throw .countMismatch(set: set.name, attributes: set.count, heads: attributeCount)
        }
        return set
    }
}
