import Foundation
import PardVideo

/// A folder of per-track pictures (snapshots, cards): `<root>/<stream>/<track id>-<first frame>.<ext>`,
/// optionally capped in size: when the files written exceed `maxBytes`, the oldest are deleted first
/// (and counted). Files already in the folder when it opens count towards the cap, oldest by
/// modification time. Used on the picture writer's thread only.
public final class PictureFolder: @unchecked Sendable {  // touched by one thread at a time (made, then handed to the writer)
    public let root: String
    /// `jpg` or `png`.
    public let fileExtension: String
    /// nil: no cap.
    public let maxBytes: Int?
    /// Bytes of the files accounted for now.
    public private(set) var bytes = 0
    /// Files deleted to stay under the cap.
    public private(set) var deleted = 0
    /// Files kept, oldest first (`head` is the oldest still there).
    private var files: [(path: String, bytes: Int)] = []
    private var head = 0

    public init(root: String, fileExtension: String, maxBytes: Int? = nil) {
        self.root = root
        self.fileExtension = fileExtension
        self.maxBytes = maxBytes
        if maxBytes != nil { files = Self.existing(in: root, fileExtension: fileExtension); bytes = files.reduce(0) { $0 + $1.bytes } }
    }

    /// Where the picture of track `track` of stream `stream`, first seen at frame `firstFrame`, goes.
    /// The stream's name is kept to letters, digits, `_`, `.` and `-` (others become `_`).
    public func path(stream: String, track: Int, firstFrame: Int) -> String {
        "\(root)/\(Self.folderName(stream))/\(track)-\(firstFrame).\(fileExtension)"
    }

    /// Writes `picture` at `path` (its folder made as needed), then deletes the oldest files while
    /// the folder is over its cap (never the file just written).
    /// - Throws: `VideoError.writeFailed` when the folder or file cannot be written.
    public func store(_ picture: RGBPicture, at path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        catch { throw VideoError.writeFailed(file: folder, reason: "cannot create the folder: \(Self.reason(error))") }
        try picture.write(to: path, format: fileExtension == "png" ? .png : .jpeg)
        guard let maxBytes else { return }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        files.append((path, size))
        bytes += size
        while bytes > maxBytes, head < files.count - 1 {
            let oldest = files[head]
            head += 1
            bytes -= oldest.bytes
            if (try? FileManager.default.removeItem(atPath: oldest.path)) != nil { deleted += 1 }
        }
        if head > 1024 {
            files.removeFirst(head)
            head = 0
        }
    }

    /// Creates `root` if needed and checks that a file can be made in it (a probe, removed again).
    /// - Throws: a message naming the folder and the system's reason.
    public static func checkWritable(_ root: String) throws(PipelineError) {
        do { try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true) }
        catch { throw .cannotOpen(file: root, reason: "cannot create the folder: \(reason(error))") }
        let probe = (root as NSString).appendingPathComponent(".pard-write-test-\(getpid())")
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .cannotOpen(file: root, reason: String(cString: strerror(errno))) }
        close(fd)
        unlink(probe)
    }

    static func folderName(_ stream: String) -> String {
        let kept = String(stream.map { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) ? $0 : "_" })
        return kept.isEmpty || kept == "." || kept == ".." ? "_" : kept
    }

    /// The `.ext` files under `root` (one level of stream folders), oldest first.
    static func existing(in root: String, fileExtension: String) -> [(path: String, bytes: Int)] {
        let fm = FileManager.default
        var found: [(path: String, bytes: Int, modified: Date)] = []
        for stream in (try? fm.contentsOfDirectory(atPath: root)) ?? [] {
            let folder = (root as NSString).appendingPathComponent(stream)
            for name in (try? fm.contentsOfDirectory(atPath: folder)) ?? [] where name.hasSuffix("." + fileExtension) {
                let path = (folder as NSString).appendingPathComponent(name)
                guard let attributes = try? fm.attributesOfItem(atPath: path) else { continue }
                found.append((path, attributes[.size] as? Int ?? 0, attributes[.modificationDate] as? Date ?? .distantPast))
            }
        }
        return found.sorted { ($0.modified, $0.path) < ($1.modified, $1.path) }.map { ($0.path, $0.bytes) }
    }

    static func reason(_ error: Error) -> String {
        if let cocoa = error as? CocoaError, let underlying = cocoa.userInfo[NSUnderlyingErrorKey] as? NSError,
           underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return error.localizedDescription
    }
}
