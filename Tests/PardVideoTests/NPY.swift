import Foundation

/// A tiny reader for little-endian float32 (`<f4`) C-order `.npy` files, private to these tests so
/// that they do not wait on PardCheckpoint's reader.
struct NPYFloat32 {
    var shape: [Int]
    var values: [Float]

    enum Failure: Error, CustomStringConvertible {
        case malformed(String)
        var description: String { if case .malformed(let m) = self { return m }; return "" }
    }

    init(contentsOf url: URL) throws {
        let data = try Data(contentsOf: url)
        let bytes = [UInt8](data)
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1...5]) == Array("NUMPY".utf8) else {
            throw Failure.malformed("\(url.lastPathComponent): not an npy file")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        if major == 1 {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        } else {
            guard bytes.count >= 12 else { throw Failure.malformed("\(url.lastPathComponent): short header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        }
        guard headerStart + headerLength <= bytes.count else { throw Failure.malformed("\(url.lastPathComponent): short header") }
        let header = String(decoding: bytes[headerStart..<headerStart + headerLength], as: UTF8.self)
        guard header.contains("'descr': '<f4'"), header.contains("'fortran_order': False"),
              let open = header.range(of: "'shape': ("),
              let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw Failure.malformed("\(url.lastPathComponent): not a C-order <f4 array: \(header)")
        }
        shape = header[open.upperBound..<close].split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        let count = shape.reduce(1, *)
        let start = headerStart + headerLength
        guard bytes.count - start == count * 4 else {
            throw Failure.malformed("\(url.lastPathComponent): \(bytes.count - start) data bytes for \(count) floats")
        }
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBytes { out in
            bytes.withUnsafeBytes { raw in
                out.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[start..<start + count * 4]))
            }
        }
        self.values = values.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) }
    }
}
