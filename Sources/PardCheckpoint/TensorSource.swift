/// Element type and shape of a stored tensor.
public struct TensorInfo: Sendable, Equatable {
    /// The name as asked.
    public let name: String
    public let dtype: DType
    /// Dimensions, outermost first; `[]` for a scalar.
    public let shape: [Int]

    public init(name: String, dtype: DType, shape: [Int]) { self.name = name; self.dtype = dtype; self.shape = shape }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
}

/// Named tensors in a file (`.pth` checkpoint or safetensors), read as Float32 in row-major order.
/// Every lookup of an absent name throws `.missingTensor(name, file: path)` with the name as asked.
public protocol TensorSource: Sendable {
    /// The file, for messages.
    var path: String { get }
    /// Every tensor name, in file order (for `.pth`: dotted paths such as `ViT_model.visual.conv1.weight`).
    var tensorNames: [String] { get }
    /// The shape of `name`, or nil if there is no such tensor.
    func shape(of name: String) -> [Int]?
    /// Element type and shape of `name`.
    func tensorInfo(_ name: String) throws(CheckpointError) -> TensorInfo
    /// The values of `name` converted to Float, row-major (strides and storage offset applied).
    func floats(_ name: String) throws(CheckpointError) -> [Float]
}

extension TensorSource {
    /// Whether `name` is present.
    public func contains(_ name: String) -> Bool { shape(of: name) != nil }

    /// The values of `name`, which must have exactly `shape`; `.wrongShape` names the tensor and both shapes.
    public func floats(_ name: String, shape expected: [Int]) throws(CheckpointError) -> [Float] {
        guard let found = shape(of: name) else { throw .missingTensor(name, file: path) }
        guard found == expected else { throw .wrongShape(name, file: path, expected: expected, found: found) }
        return try floats(name)
    }

    /// A view that looks each name up under `prefixes` in order (e.g. `["ViT_model.", "model_state_dict."]`).
    public func withPrefixes(_ prefixes: [String]) -> PrefixedTensorSource {
        PrefixedTensorSource(self, prefixes: prefixes)
    }
}

/// A view of another source where `name` means the first of `prefix + name` present, prefixes tried in
/// order. Missing and wrong-shape errors name the key as asked of this view.
public struct PrefixedTensorSource: TensorSource {
    public let base: any TensorSource
    public let prefixes: [String]

    public init(_ base: any TensorSource, prefixes: [String]) { self.base = base; self.prefixes = prefixes }

    public var path: String { base.path }

    /// Names under any prefix, with the prefix removed (first prefix wins on duplicates).
    public var tensorNames: [String] {
        var seen = Set<String>(), names: [String] = []
        for prefix in prefixes {
            for full in base.tensorNames where full.hasPrefix(prefix) {
                let name = String(full.dropFirst(prefix.count))
                if seen.insert(name).inserted { names.append(name) }
            }
        }
        return names
    }

    /// The full key in the base source for `name`, if any.
    public func resolve(_ name: String) -> String? {
        prefixes.lazy.map { $0 + name }.first { base.contains($0) }
    }

    public func shape(of name: String) -> [Int]? { resolve(name).flatMap { base.shape(of: $0) } }

    public func tensorInfo(_ name: String) throws(CheckpointError) -> TensorInfo {
        guard let key = resolve(name) else { throw .missingTensor(name, file: path) }
        let info = try base.tensorInfo(key)
        return TensorInfo(name: name, dtype: info.dtype, shape: info.shape)
    }

    public func floats(_ name: String) throws(CheckpointError) -> [Float] {
        guard let key = resolve(name) else { throw .missingTensor(name, file: path) }
        return try base.floats(key)
    }
}
