/// Everything that can go wrong loading or running the model; each case names the offending input.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    /// A tensor the model needs is not in the file (canonical name, file).
    case missingTensor(String, file: String)
    /// A tensor has the wrong shape (name, file, expected, found).
    case wrongShape(String, file: String, expected: [Int], found: [Int])
    /// The tensors do not describe a model pard can run (file, why).
    case unsupportedModel(file: String, String)
    /// The checkpoint or tensor file could not be read (the reader's message names file and problem).
    case unreadable(String)
    /// Tokens given to the text encoder are malformed.
    case badTokens(String)
    /// Input to `classify` of the wrong size (what, expected floats, found floats).
    case badInput(String, expected: Int, found: Int)
    /// The attribute set does not fit the model, or could not be read.
    case attributes(String)
    /// The BPE vocabulary could not be found or read, or a sentence could not be tokenised.
    case vocabulary(String)

    public var description: String {
        switch self {
        case .missingTensor(let name, let file): "missing tensor '\(name)' in \(file)"
        case .wrongShape(let name, let file, let expected, let found):
            "tensor '\(name)' in \(file) has shape \(found), expected \(expected)"
        case .unsupportedModel(let file, let why): "\(file): \(why)"
        case .unreadable(let message): message
        case .badTokens(let why): "text encoder input: \(why)"
        case .badInput(let what, let expected, let found): "\(what): expected \(expected) floats, found \(found)"
        case .attributes(let why): why
        case .vocabulary(let why): why
        }
    }
}
