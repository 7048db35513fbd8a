import PARAttributes
import PardCheckpoint
import PardVideo
import PromptPAR

/// `pard classify`: images already normalised in a `[N, 3, S, S]` `.npy`, one JSON line per image in
/// input order.
public enum ClassifyJob {
    /// Classifies every image of `npyPath`, calling `emit` with each line (no newline).
    public static func run(_ loaded: LoadedModel, npyPath: String, threshold: Float, batch: Int,
                           emit: (String) throws -> Void) throws {
        let array: NPYArray
        do { array = try NPY.read(npyPath) } catch { throw PipelineError.unreadable(file: npyPath, reason: error.description) }
        let s = loaded.model.config.imageSize
        guard array.shape.count == 4, array.shape[1] == 3, array.shape[2] == s, array.shape[3] == s else {
            throw PipelineError.wrongShape(file: npyPath, shape: array.shape, expected: "[N, 3, \(s), \(s)] (normalised images)")
        }
        try refuseNonFinite(array, file: npyPath)
        let n = array.shape[0], per = loaded.model.imageFloats, a = loaded.model.config.attributes
        let session = InferenceSession(model: loaded.model, maxBatch: max(1, min(batch, n)))
        var logits = [Float](repeating: 0, count: session.maxBatch * a)
        var start = 0
        while start < n {
            let k = min(session.maxBatch, n - start)
            array.values.withUnsafeBufferPointer { img in
                logits.withUnsafeMutableBufferPointer { out in
                    guard let input = img.baseAddress, let output = out.baseAddress else { return }
                    session.run(images: input + start * per, count: k, logits: output)
                }
            }
            for i in 0..<k {
                let result = AttributeResult(logits: Array(logits[(i * a)..<((i + 1) * a)]), attributes: loaded.attributes, threshold: threshold)
                try emit(line(index: start + i, input: "\(npyPath)[\(start + i)]", result: result, attributes: loaded.attributes))
            }
            start += k
        }
    }

    /// Classifies image files (PNG, JPEG, anything FFmpeg decodes), each letterboxed (or stretched)
    /// to the model's input like a detection crop, calling `emit` with each line in input order, and
    /// `picture` (when given) with each image's index, picture and result (`--card`).
    public static func run(_ loaded: LoadedModel, images paths: [String], resize: CropExtractor.Resize, threshold: Float,
                           batch: Int, emit: (String) throws -> Void,
                           picture: ((Int, DecodedFrame, AttributeResult) throws -> Void)? = nil) throws {
        let per = loaded.model.imageFloats, a = loaded.model.config.attributes
        let session = InferenceSession(model: loaded.model, maxBatch: max(1, min(batch, paths.count)))
        let extractor = CropExtractor(size: loaded.model.config.imageSize, resize: resize)
        var images = [Float](repeating: 0, count: session.maxBatch * per)
        var logits = [Float](repeating: 0, count: session.maxBatch * a)
        var start = 0
        var frames: [DecodedFrame] = []
        while start < paths.count {
            let k = min(session.maxBatch, paths.count - start)
            frames.removeAll(keepingCapacity: true)
            for i in 0..<k {
                let frame = try ImageFile.load(path: paths[start + i])
                if picture != nil { frames.append(frame) }
                try images.withUnsafeMutableBufferPointer { buffer in
                    try extractor.cropWhole(frame, into: UnsafeMutableBufferPointer(rebasing: buffer[(i * per)..<((i + 1) * per)]))
                }
            }
            images.withUnsafeBufferPointer { img in
                logits.withUnsafeMutableBufferPointer { out in
                    guard let input = img.baseAddress, let output = out.baseAddress else { return }
                    session.run(images: input, count: k, logits: output)
                }
            }
            for i in 0..<k {
                let result = AttributeResult(logits: Array(logits[(i * a)..<((i + 1) * a)]), attributes: loaded.attributes, threshold: threshold)
                try emit(line(index: start + i, input: paths[start + i], result: result, attributes: loaded.attributes))
                if let picture, i < frames.count { try picture(start + i, frames[i], result) }
            }
            start += k
        }
    }

    /// Refuses an `[N, C, H, W]` array holding NaN or an infinity (the model would turn it into all-NaN
    /// outputs), naming the first: `inputs.npy: image 3, channel 1, row 17, column 5: NaN`.
    static func refuseNonFinite(_ array: NPYArray, file: String) throws(PipelineError) {
        guard array.shape.count == 4, let i = array.values.firstIndex(where: { !$0.isFinite }) else { return }
        let (c, h, w) = (array.shape[1], array.shape[2], array.shape[3])
        throw .nonFinite(file: file, image: i / (c * h * w), channel: i / (h * w) % c, row: i / w % h, column: i % w,
                         value: array.values[i])
    }

    /// One output line: index, input, logits, probs (head order), attributes (name -> probability), labels.
    public static func line(index: Int, input: String, result: AttributeResult, attributes: AttributeSet) -> String {
        var o = JSONLine()
        o.add("index", index)
        o.add("input", input)
        o.add("logits", floats: result.logits)
        o.add("probs", floats: result.probabilities)
        o.add("attributes", object: result.attributesObject(attributes, decimals: 4))
        o.add("labels", strings: result.labelNames(attributes))
        return o.string
    }
}
