/// Where the loader gets tensors from, by canonical name: the names of the official state dicts
/// (`visual.conv1.weight`, `transformer.resblocks.0.ln_1.weight`, `blocks.0.attn.qkv.weight`,
/// `bn.running_mean`, ...), plus `text_features` in pard's own files.
public protocol WeightSource {
    /// The file, for messages.
    var path: String { get }
    /// Shape of the tensor, or nil if absent.
    func shape(of name: String) -> [Int]?
    /// The tensor's values as Float32, row-major.
    func floats(_ name: String) throws(ModelError) -> [Float]
}

extension WeightSource {
    func has(_ name: String) -> Bool { shape(of: name) != nil }

    /// Shape of a tensor that must be there.
    func requireShape(_ name: String) throws(ModelError) -> [Int] {
        guard let s = shape(of: name) else { throw .missingTensor(name, file: path) }
        return s
    }

    /// A tensor that must be there with exactly this shape.
    func load(_ name: String, _ expected: [Int]) throws(ModelError) -> [Float] {
        let found = try requireShape(name)
        guard found == expected else { throw .wrongShape(name, file: path, expected: expected, found: found) }
        return try floats(name)
    }

    /// Number of consecutive blocks `prefix.0`, `prefix.1`, ... that have `probe` (e.g. `.ln_1.weight`).
    func countBlocks(_ prefix: String, probe: String) -> Int {
        var n = 0
        while has("\(prefix).\(n)\(probe)") { n += 1 }
        return n
    }
}
