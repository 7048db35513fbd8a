import Foundation

/// The presets: one JSON file per dataset (`pa100k.json`, ...) in a folder of attribute sets, found
/// through a list of search paths.
extension AttributeSet {
    /// The presets pard ships, as their files name them, in the order `resolve` tries them.
    public static let presetNames = ["PA100k", "PETA", "PETAzs", "RAPV1", "RAPV2", "RAPzs", "WIDER", "UPAR"]

    /// The file a preset is stored in: its name lower-cased, plus `.json` (`pa100k.json`).
    public static func presetFileName(_ name: String) -> String { name.lowercased() + ".json" }

    /// The preset called `name` (case-insensitive: `PA100k`, `pa100k`): the first `<name>.json` in
    /// `searchPaths`. Besides the shipped presets, any file put in a search path can be named this way.
    /// When there is none, the error lists the files tried.
    public static func preset(named name: String, searchPaths: [URL]) throws(AttributeSetError) -> AttributeSet {
        // A name, not a path: letters, digits, `_`, `-`, `.`, not starting with a dot.
        let isName = !name.isEmpty && !name.hasPrefix(".") && name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0)
        }
        guard isName else { throw .presetNotFound(name: name, looked: [], known: presetNames) }
        let file = presetFileName(name)
        var looked: [String] = []
        for dir in searchPaths {
            let url = dir.appendingPathComponent(file)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                return try AttributeSet(contentsOf: url)
            }
            looked.append(url.path)
        }
        throw .presetNotFound(name: name, looked: looked, known: presetNames)
    }

    /// The set for a model with `attributeCount` heads.
    ///
    /// - `nameOrFile` ending in `.json`, containing a `/`, or naming an existing file that is not a
    ///   shipped preset's name: that file.
    /// - Another string: the preset of that name (`preset(named:searchPaths:)`).
    /// - nil: the shipped preset with `attributeCount` attributes, if exactly one has; otherwise an
    ///   error listing the candidates (35: PETA and PETAzs) or saying that none fits.
    ///
    /// A set whose size is not `attributeCount` is an error naming both counts.
    public static func resolve(_ nameOrFile: String?, attributeCount: Int, searchPaths: [URL]) throws(AttributeSetError) -> AttributeSet {
        let set: AttributeSet
        if let nameOrFile {
            set = isFileArgument(nameOrFile)
                ? try AttributeSet(contentsOf: URL(fileURLWithPath: nameOrFile))
                : try preset(named: nameOrFile, searchPaths: searchPaths)
        } else {
            var all: [AttributeSet] = []
            for name in presetNames { all.append(try preset(named: name, searchPaths: searchPaths)) }
            let fits = all.filter { $0.count == attributeCount }
            if fits.isEmpty {
                throw .noPresetFits(attributeCount: attributeCount, presets: all.map { "\($0.name) (\($0.count))" })
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

    /// Whether `resolve` reads `argument` as a file rather than a preset name.
    static func isFileArgument(_ argument: String) -> Bool {
        if argument.lowercased().hasSuffix(".json") || argument.contains("/") { return true }
        if presetNames.contains(where: { $0.lowercased() == argument.lowercased() }) { return false }
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    /// Where presets are looked for, in order:
    /// 1. `$PARD_DATA_DIR/attributes`, when the variable is set;
    /// 2. `configs/attributes` and `share/pard/attributes` in the running executable's folder and every
    ///    folder above it, those that exist (so `swift run` or `.build/release/pard` in a source checkout
    ///    finds the repository's presets, and `<prefix>/bin/pard` finds `<prefix>/share/pard/attributes`);
    ///    the executable is `CommandLine.arguments[0]` (looked up in `PATH` when it has no `/`) and
    ///    `/proc/self/exe`, each with symbolic links resolved;
    /// 3. `/usr/local/share/pard/attributes`;
    /// 4. `/usr/share/pard/attributes`.
    public static func defaultSearchPaths() -> [URL] {
        let environment = ProcessInfo.processInfo.environment
        return searchPaths(dataDirectory: environment["PARD_DATA_DIR"],
                           executables: executableLocations(environment: environment))
    }

    /// The search paths for a given `$PARD_DATA_DIR` and executable locations (see `defaultSearchPaths()`).
    static func searchPaths(dataDirectory: String?, executables: [URL]) -> [URL] {
        var paths: [URL] = []
        var seen: Set<String> = []
        func add(_ url: URL) {
            let key = url.standardizedFileURL.path
            if seen.insert(key).inserted { paths.append(url.standardizedFileURL) }
        }
        if let dataDirectory, !dataDirectory.isEmpty {
            add(URL(fileURLWithPath: dataDirectory, isDirectory: true).appendingPathComponent("attributes"))
        }
        for executable in executables {
            let components = executable.deletingLastPathComponent().standardizedFileURL.pathComponents
            // From the executable's folder up to, but not including, the root.
            for depth in stride(from: components.count, to: 1, by: -1) {
                let dir = URL(fileURLWithPath: "/" + components[1..<depth].joined(separator: "/"), isDirectory: true)
                for sub in ["configs/attributes", "share/pard/attributes"] {
                    let candidate = dir.appendingPathComponent(sub)
                    var isDirectory: ObjCBool = false
                    if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), isDirectory.boolValue {
                        add(candidate)
                    }
                }
            }
        }
        add(URL(fileURLWithPath: "/usr/local/share/pard/attributes", isDirectory: true))
        add(URL(fileURLWithPath: "/usr/share/pard/attributes", isDirectory: true))
        return paths
    }

    /// The running executable: `CommandLine.arguments[0]` resolved (against the working directory, or
    /// `PATH` when it has no `/`), then `/proc/self/exe` (or the main bundle's executable where there is
    /// no `/proc`); symbolic links resolved, duplicates kept out.
    static func executableLocations(environment: [String: String]) -> [URL] {
        var found: [URL] = []
        func add(_ url: URL) {
            let resolved = url.resolvingSymlinksInPath().standardizedFileURL
            if !found.contains(resolved) { found.append(resolved) }
        }
        if let argument = CommandLine.arguments.first, !argument.isEmpty {
            if argument.contains("/") {
                add(URL(fileURLWithPath: argument))
            } else {
                for dir in (environment["PATH"] ?? "").split(separator: ":") where !dir.isEmpty {
                    let candidate = URL(fileURLWithPath: String(dir), isDirectory: true).appendingPathComponent(argument)
                    if FileManager.default.isExecutableFile(atPath: candidate.path) { add(candidate); break }
                }
            }
        }
        if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            add(URL(fileURLWithPath: target))
        } else if let main = Bundle.main.executableURL {
            add(main)
        }
        return found
    }
}
