/// What can go wrong choosing or reading an attribute set; each case names the input.
public enum AttributeSetError: Error, CustomStringConvertible, Equatable {
    /// The file could not be read (file, why).
    case unreadable(String, String)
    /// The file is malformed (file, JSON path such as `$.attributes[3].name`, what is wrong).
    case invalid(String, String, String)
    /// No preset of that name (name, known names).
    case unknownPreset(String, known: [String])
    /// The preset's file was not found (name, places looked).
    case presetNotFound(String, looked: [String])
    /// No single preset fits the model's head count (count, the presets that fit).
    case ambiguous(attributeCount: Int, candidates: [String])
    /// The chosen set does not have as many attributes as the model has heads.
    case countMismatch(set: String, attributes: Int, heads: Int)

    public var description: String {
        switch self {
        case .unreadable(let file, let why): "\(file): \(why)"
        case .invalid(let file, let path, let why): "\(file): \(path): \(why)"
        case .unknownPreset(let name, let known): "no attribute set named '\(name)'; presets: \(known.joined(separator: ", ")), or give a JSON file"
        case .presetNotFound(let name, let looked): "attribute set \(name) not found; looked in: \(looked.joined(separator: ", "))"
        case .ambiguous(let count, let candidates):
            candidates.isEmpty
                ? "no attribute preset has \(count) attributes; give one with --attributes FILE.json"
                : "the model has \(count) attributes, which fits \(candidates.joined(separator: " and ")): choose one with --attributes"
        case .countMismatch(let set, let attributes, let heads):
            "attribute set \(set) has \(attributes) attributes but the model has \(heads) heads"
        }
    }
}
