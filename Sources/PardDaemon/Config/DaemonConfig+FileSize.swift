import Foundation

extension DaemonConfig {
    /// The largest configuration file pard reads: 16 MiB, some 100,000 streams. Reading and validating is
    /// linear in the size; this bounds what a mistaken file (a video, a log) can cost.
    public static let maximumFileBytes = 16 << 20

    /// The bytes of the configuration file at `path`, refused without reading it all when it is larger
    /// than `maximumFileBytes` (a FIFO or other file of unknown size is read up to one byte more).
    static func readBounded(path: String) throws(ConfigError) -> Data {
        let limit = maximumFileBytes
        func tooLarge(_ size: String) -> ConfigError {
            ConfigError(file: path, line: nil, keyPath: "",
                        message: "is \(size); a configuration file may have at most \(byteText(limit)) (DaemonConfig.maximumFileBytes)")
        }
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber, size.intValue > limit {
            throw tooLarge(byteText(size.intValue))
        }
        do {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            var data = Data()
            while data.count <= limit, let chunk = try handle.read(upToCount: min(1 << 20, limit + 1 - data.count)), !chunk.isEmpty {
                data.append(chunk)
            }
            guard data.count <= limit else { throw tooLarge("more than \(byteText(limit))") }
            return data
        } catch let error as ConfigError {
            throw error
        } catch {
            throw ConfigError(file: path, line: nil, keyPath: "", message: "cannot read: \(error.localizedDescription)")
        }
    }

    /// `16 MiB`, `50.2 MiB`, `812 bytes`.
    static func byteText(_ bytes: Int) -> String {
        if bytes < 1 << 20 { return "\(bytes) bytes" }
        let mebibytes = Double(bytes) / Double(1 << 20)
        return mebibytes == mebibytes.rounded() ? "\(Int(mebibytes)) MiB" : String(format: "%.1f MiB", mebibytes)
    }
}
