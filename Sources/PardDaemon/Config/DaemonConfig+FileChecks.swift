import Foundation
import PARAttributes

extension DaemonConfig {
    /// Files the configuration names that are not on this machine: the checkpoint, an attribute file or
    /// preset, the vocabulary, video files, a followed detection file's folder, a missing
    /// `serviceFolders` folder for a socket or the event file. Each is a `ConfigError` at
    /// the key that names it. The configuration is valid without them (they may be installed later),
    /// but `pard run` needs them; `pard check-config` reports them as warnings.
    public func missingFiles() -> [ConfigError] {
        var problems: [ConfigError] = []
        func check(_ path: String, at keyPath: String, what: String) {
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
                problems.append(error(at: keyPath, "\(path): no such \(what)"))
            } else if isDirectory.boolValue != (what == "folder") {
                problems.append(error(at: keyPath, "\(path): not a \(what)"))
            }
        }
        if model.checkpoint != Model.synthetic { check(model.checkpoint, at: "model.checkpoint", what: "file") }
        if let attributes = model.attributes {
            if attributes.lowercased().hasSuffix(".json") || attributes.contains("/") {
                check(attributes, at: "model.attributes", what: "file")
            } else {
                let paths = AttributeSet.defaultSearchPaths()
                let file = AttributeSet.presetFileName(attributes)
                if !paths.contains(where: { FileManager.default.fileExists(atPath: $0.appendingPathComponent(file).path) }) {
                    let known = AttributeSet.presetNames.joined(separator: ", ")
                    problems.append(error(at: "model.attributes", "no preset \"\(attributes)\" (\(file)) in \(paths.map(\.path).joined(separator: ", ")); shipped presets: \(known)"))
                }
            }
        }
        if let vocabulary = model.vocabulary { check(vocabulary, at: "model.vocabulary", what: "file") }
        for (index, stream) in streams.enumerated() {
            if !stream.isRTSP { check(stream.url, at: "streams[\(index)].url", what: "file") }
            if case .file(let path) = stream.detections {
                let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
                check(folder, at: "streams[\(index)].detections", what: "folder")
            }
        }
        return problems + missingMQTTFiles() + missingServiceFolders()
    }
}
