import PardCheckpoint

/// How the loader reads tensors: by canonical name, the names of the official state dicts
/// (`visual.conv1.weight`, `transformer.resblocks.0.ln_1.weight`, `blocks.0.attn.qkv.weight`,
/// `bn.running_mean`, ...), plus `text_features` in pard's own files. A `.pth` checkpoint is viewed
/// through `withPrefixes(ModelFile.checkpointPrefixes)`.
extension TensorSource {
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
        do { return try floats(name) } catch { throw .unreadable(error.description) }
    }

    /// Number of consecutive blocks `prefix.0`, `prefix.1`, ... that have `probe` (e.g. `.ln_1.weight`).
    func countBlocks(_ prefix: String, probe: String) -> Int {
        var n = 0
        while has("\(prefix).\(n)\(probe)") { n += 1 }
        return n
    }
}
