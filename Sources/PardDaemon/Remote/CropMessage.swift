import Foundation
import PardPipeline

/// The messages between edges and workers. Each is `[u32 little-endian header length][JSON header][body]`:
/// a crop's body is its `[3, S, S]` pixels, a result's its `[A]` logits as float32 little-endian.
///
/// Pixels travel as `u8` when that is lossless: the crop extractor's floats are `(v / 255 - 0.5) / 0.5` of
/// 8-bit values, so the byte is recovered and the worker rebuilds the very same floats (a quarter of the
/// bytes: 147 KB instead of 588 KB for 224x224). A crop with any other value goes as `f32` (bit-exact).
enum CropMessage {
    /// Header bytes accepted at most (a header is ~300 bytes).
    static let maxHeaderBytes = 16_384

    /// A crop's header.
    struct Header: Codable, Equatable {
        /// Format version (1).
        var v = 1
        /// The crop id: `<edge>.<session>.<sequence>`, unique across edges and restarts.
        var id: String
        /// The subject the result goes to (`<results>.<edge>`).
        var reply: String
        /// `ModelIdentity` of the edge's model: a worker with another refuses the crop.
        var model: String
        var stream: String
        var frame: Int
        /// Presentation time, seconds.
        var pts: Double
        /// The detection box `[x, y, w, h]`, pixels of the frame.
        var box: [Double]
        var track: Int?
        /// `u8` or `f32`.
        var pixels: String
        /// S: the crop is `[3, S, S]`.
        var size: Int
    }

    /// A result's header.
    struct ResultHeader: Codable, Equatable {
        var v = 1
        var id: String
        /// `ok`, or the raw value of the `ShedReason` the worker refused it for (`model_mismatch`).
        var status: String
        /// The worker's model identity.
        var model: String
        /// The worker's name.
        var worker: String
        /// How often the crop had been delivered to a worker (1: the first time).
        var delivered: Int
        /// Logits in the body.
        var count: Int
    }

    enum Malformed: Error, CustomStringConvertible {
        case message(String)
        /// A well-formed crop cut for another model (identity `model`): refused, not malformed.
        case otherModel(Header)

        var description: String {
            switch self {
            case .message(let m): return m
            case .otherModel(let h): return "crop \(h.id) of edge subject \(h.reply): model \(h.model)"
            }
        }
    }

    /// The value the crop extractor makes of byte `v`.
    static let levels: [Float] = (0..<256).map { (Float($0) / 255 - 0.5) / 0.5 }

    // MARK: - Crops

    /// The message for `header` (its `pixels` set here) with `pixels`; `bytes`: u8 when lossless (false:
    /// always f32, for measuring what the bytes save).
    static func crop(_ header: Header, pixels: UnsafeBufferPointer<Float>, bytes: Bool = true) -> [UInt8] {
        var header = header
        var body = [UInt8](repeating: 0, count: pixels.count)
        var lossless = bytes
        if lossless {
            lossless = levels.withUnsafeBufferPointer { table in
                body.withUnsafeMutableBufferPointer { out in
                    // One pass, no bounds checks: v = round((f * 0.5 + 0.5) * 255), kept only if the table gives f back.
                    var exact = true
                    for i in 0..<pixels.count {
                        let f = pixels[i]
                        let r = ((f * 0.5 + 0.5) * 255).rounded()
                        let v = r >= 0 && r <= 255 ? Int(r) : 0  // NaN and out of range: 0, then not exact
                        exact = exact && table[v].bitPattern == f.bitPattern
                        out[i] = UInt8(truncatingIfNeeded: v)
                    }
                    return exact
                }
            }
        }
        if lossless {
            header.pixels = "u8"
        } else {
            header.pixels = "f32"
            body = floatBytes(pixels)
        }
        return frame(header, body: body)
    }

    /// A crop message's header and its pixels written into `into` (`[3, S, S]` floats, `S` = `size`).
    /// - Throws: `Malformed.otherModel` when it was cut for another model than `model`; `Malformed.message`
    ///   naming what is wrong (short, oversized, another size, unknown encoding).
    static func readCrop(_ bytes: [UInt8], model: String, size: Int, into: UnsafeMutableBufferPointer<Float>) throws(Malformed) -> Header {
        let (header, body): (Header, ArraySlice<UInt8>) = try split(bytes)
        guard header.model == model else { throw Malformed.otherModel(header) }
        let count = 3 * size * size
        guard header.size == size, into.count == count else {
            throw Malformed.message("crop \(header.id): \(header.size)x\(header.size) pixels, the model takes \(size)x\(size)")
        }
        switch header.pixels {
        case "u8":
            guard body.count == count else { throw Malformed.message("crop \(header.id): \(body.count) bytes of u8 pixels, expected \(count)") }
            levels.withUnsafeBufferPointer { table in
                body.withUnsafeBufferPointer { bytes in
                    for i in 0..<count { into[i] = table[Int(bytes[i])] }
                }
            }
        case "f32":
            guard body.count == 4 * count else { throw Malformed.message("crop \(header.id): \(body.count) bytes of f32 pixels, expected \(4 * count)") }
            readFloats(body, into: into)
        default:
            throw Malformed.message("crop \(header.id): unknown pixel encoding \"\(header.pixels)\"")
        }
        return header
    }

    // MARK: - Results

    static func result(_ header: ResultHeader, logits: UnsafeBufferPointer<Float>) -> [UInt8] {
        frame(header, body: floatBytes(logits))
    }

    /// A result message as the stage takes it.
    static func readResult(_ bytes: [UInt8]) throws(Malformed) -> (ResultHeader, RemoteResult) {
        let (header, body): (ResultHeader, ArraySlice<UInt8>) = try split(bytes)
        if header.status != "ok" {
            let reason = ShedReason(rawValue: header.status) ?? .modelMismatch
            return (header, RemoteResult(id: header.id, outcome: .refused(reason), delivered: header.delivered))
        }
        guard header.count >= 0, body.count == 4 * header.count else {
            throw Malformed.message("result \(header.id): \(body.count) bytes for \(header.count) logits")
        }
        var logits = [Float](repeating: 0, count: header.count)
        logits.withUnsafeMutableBufferPointer { readFloats(body, into: $0) }
        return (header, RemoteResult(id: header.id, outcome: .logits(logits), delivered: header.delivered))
    }

    // MARK: - Framing

    static func frame<H: Encodable>(_ header: H, body: [UInt8]) -> [UInt8] {
        let json = (try? JSONEncoder().encode(header)).map(Array.init) ?? []
        let n = UInt32(json.count)
        var out: [UInt8] = [UInt8(n & 0xff), UInt8(n >> 8 & 0xff), UInt8(n >> 16 & 0xff), UInt8(n >> 24)]
        out.reserveCapacity(4 + json.count + body.count)
        out += json
        out += body
        return out
    }

    static func split<H: Decodable>(_ bytes: [UInt8]) throws(Malformed) -> (H, ArraySlice<UInt8>) {
        guard bytes.count >= 4 else { throw Malformed.message("\(bytes.count) bytes: shorter than a header") }
        let n = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24
        guard n > 0, n <= maxHeaderBytes, 4 + n <= bytes.count else {
            throw Malformed.message("header of \(n) bytes in a message of \(bytes.count) (at most \(maxHeaderBytes))")
        }
        let header: H
        do { header = try JSONDecoder().decode(H.self, from: Data(bytes[4..<4 + n])) }
        catch { throw Malformed.message("header is not the expected JSON: \(error)") }
        return (header, bytes[(4 + n)...])
    }

    static func floatBytes(_ values: UnsafeBufferPointer<Float>) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 4 * values.count)
        out.withUnsafeMutableBytes { raw in
            for (i, v) in values.enumerated() { raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
        }
        return out
    }

    static func readFloats(_ bytes: ArraySlice<UInt8>, into: UnsafeMutableBufferPointer<Float>) {
        bytes.withUnsafeBytes { raw in
            for i in 0..<min(into.count, raw.count / 4) {
                into[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            }
        }
    }
}
