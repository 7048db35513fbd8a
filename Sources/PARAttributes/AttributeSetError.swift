/// Everything that can go wrong reading, choosing or checking an attribute set. Each case carries the
/// offending input: the file (or other source), the JSON path inside it (`$.attributes[3].name`), the
/// attribute or preset name, the counts.
public enum AttributeSetError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be read.
    case unreadable(file: String, reason: String)
    /// The file is not JSON.
    case notJSON(file: String, reason: String)
    /// A key the format does not have; `path` is the key's own path (`$.attributes[2].colour`).
    case unknownKey(file: String, path: String)
    /// A required key is absent; `path` is where it should be (`$.attributes[0].sentence`).
    case missingKey(file: String, path: String)
    /// A value of the wrong JSON type (`expected` says what it should be).
    case wrongType(file: String, path: String, expected: String)
    /// A value that must not be empty is (the set's name, the attribute list, a group's name).
    case empty(file: String, path: String)
    /// An attribute whose sentence is empty or only white space.
    case emptySentence(file: String, path: String, attribute: String)
    /// An attribute name that is not snake_case (`a`–`z`, `0`–`9`, `_`, starting with a letter).
    case invalidName(file: String, path: String, name: String)
    /// An attribute name used twice.
    case duplicateName(file: String, path: String, name: String)
    /// A group name used twice.
    case duplicateGroup(file: String, path: String, name: String)
    /// A group with fewer than two members (it would exclude nothing).
    case groupTooSmall(file: String, path: String, group: String)
    /// A group member that is not an attribute of the set.
    case unknownMember(file: String, path: String, member: String, group: String)
    /// A member listed twice in one group.
    case duplicateMember(file: String, path: String, member: String, group: String)
    /// An attribute that is a member of two groups.
    case memberInTwoGroups(file: String, path: String, member: String, first: String, second: String)
    /// No preset file of that name in any of the places looked (`looked`: the files tried;
    /// `known`: the names of the presets pard ships).
    case presetNotFound(name: String, looked: [String], known: [String])
    /// No preset has as many attributes as the model has heads (`presets`: each preset with its count,
    /// as `PA100k (26)`).
    case noPresetFits(attributeCount: Int, presets: [String])
    /// Several presets have as many attributes as the model has heads.
    case ambiguous(attributeCount: Int, candidates: [String])
    /// The chosen set does not have as many attributes as the model has heads.
    case countMismatch(set: String, attributes: Int, heads: Int)

    /// One line naming the input and the problem.
    public var description: String {
        switch self {
        case .unreadable(let file, let reason):
            "\(file): cannot read attribute set: \(reason)"
        case .notJSON(let file, let reason):
            "\(file): not JSON: \(reason)"
        case .unknownKey(let file, let path):
            "\(file): \(path): unknown key"
        case .missingKey(let file, let path):
            "\(file): \(path): missing"
        case .wrongType(let file, let path, let expected):
            "\(file): \(path): expected \(expected)"
        case .empty(let file, let path):
            "\(file): \(path): must not be empty"
        case .emptySentence(let file, let path, let attribute):
            "\(file): \(path): attribute '\(attribute)' has an empty sentence"
        case .invalidName(let file, let path, let name):
            "\(file): \(path): '\(name)' is not a snake_case name (a-z, 0-9 and _, starting with a letter)"
        case .duplicateName(let file, let path, let name):
            "\(file): \(path): attribute '\(name)' is defined twice"
        case .duplicateGroup(let file, let path, let name):
            "\(file): \(path): group '\(name)' is defined twice"
        case .groupTooSmall(let file, let path, let group):
            "\(file): \(path): group '\(group)' needs at least two members"
        case .unknownMember(let file, let path, let member, let group):
            "\(file): \(path): '\(member)' in group '\(group)' is not an attribute of this set"
        case .duplicateMember(let file, let path, let member, let group):
            "\(file): \(path): '\(member)' is listed twice in group '\(group)'"
        case .memberInTwoGroups(let file, let path, let member, let first, let second):
            "\(file): \(path): '\(member)' is in group '\(first)' and in group '\(second)'; an attribute may be in one group only"
        case .presetNotFound(let name, let looked, let known):
            (known.contains { $0.lowercased() == name.lowercased() }
                ? "attribute preset \(name) not found"
                : "no attribute preset named '\(name)' (presets: \(known.joined(separator: ", ")); or give a JSON file)")
                + "; looked for " + (looked.isEmpty ? "nothing (not a preset name)" : looked.joined(separator: ", "))
        case .noPresetFits(let count, let presets):
            "no attribute preset has \(count) attributes (\(presets.joined(separator: ", "))); give a JSON file with --attributes"
        case .ambiguous(let count, let candidates):
            "the model has \(count) attributes, which fits \(candidates.joined(separator: " and ")): choose one with --attributes"
        case .countMismatch(let set, let attributes, let heads):
            "attribute set \(set) has \(attributes) attributes but the model has \(heads) heads"
        }
    }
}
