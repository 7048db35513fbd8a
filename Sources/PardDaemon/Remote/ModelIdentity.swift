import Foundation
import PromptPAR

/// What a crop says about the model it was cut for, so that a worker running another model refuses it
/// rather than answer with logits that mean something else: `<hex>` of 64-bit FNV-1a over the model file's
/// size and its first and last MiB (or `synthetic`), the attribute set's names, the model's image size,
/// widths and layers, and the precision. Cheap at load (2 MiB read), and any other checkpoint, attribute set
/// or precision differs.
enum ModelIdentity {
    static func of(_ loaded: LoadedModel, checkpoint: String, precision: String) -> String {
        var hash = FNV1a()
        if checkpoint == ModelSpec.syntheticName {
            hash.add("synthetic")
        } else if let file = FileHandle(forReadingAtPath: loaded.path) {
            defer { try? file.close() }
            let size = (try? file.seekToEnd()) ?? 0
            hash.add("\(size)")
            let chunk = 1 << 20
            try? file.seek(toOffset: 0)
            hash.add(bytes: (try? file.read(upToCount: chunk)) ?? Data())
            try? file.seek(toOffset: size > UInt64(chunk) ? size - UInt64(chunk) : 0)
            hash.add(bytes: (try? file.read(upToCount: chunk)) ?? Data())
        }
        let c = loaded.model.config
        hash.add(loaded.attributes.names.joined(separator: "\n"))
        hash.add("\(c.imageSize) \(c.visionWidth) \(c.visionLayers) \(c.attributes) \(precision)")
        return String(hash.value, radix: 16)
    }
}

/// 64-bit FNV-1a.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(bytes: some Sequence<UInt8>) {
        for b in bytes { value = (value ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
    }

    mutating func add(_ text: String) {
        add(bytes: text.utf8)
        add(bytes: [0])
    }
}
