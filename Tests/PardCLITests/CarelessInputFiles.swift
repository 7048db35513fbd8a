import Foundation
import PardCheckpoint
import PardTestSupport

/// Inputs a careless user (or a hostile file) gives pard, made byte by byte: PNGs with the right
/// CRCs, a Matroska file with a video track but no frames, and a way to run pard with standard
/// output going somewhere that fails and to measure the child's peak memory.
enum CarelessInputFiles {
    /// A grayscale 8-bit PNG declaring `width` x `height`, whose IDAT holds only the first `rows`
    /// rows (filter byte 0, all zero) in a zlib stream of stored blocks: valid chunks, an image that
    /// ends early (FFmpeg reads the header, then stops at "IEND without all image").
    static func grayPNG(width: Int, height: Int, rows: Int) -> [UInt8] {
        var ihdr: [UInt8] = bigEndian(UInt32(width)) + bigEndian(UInt32(height))
        ihdr += [8, 0, 0, 0, 0]  // bit depth 8, grayscale, deflate, filter 0, no interlace
        let raw = [UInt8](repeating: 0, count: rows * (width + 1))
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            + chunk("IHDR", ihdr) + chunk("IDAT", zlibStored(raw)) + chunk("IEND", [])
    }

    /// A Matroska file with one MJPEG video track of `width` x `height` and one empty cluster: opens
    /// fine, declares its picture size, holds no frame.
    static func frameLessMKV(width: Int, height: Int) -> [UInt8] {
        let header = element([0x1A, 0x45, 0xDF, 0xA3],
                             uint([0x42, 0x86], 1) + uint([0x42, 0xF7], 1) + uint([0x42, 0xF2], 4) + uint([0x42, 0xF3], 8)
                             + string([0x42, 0x82], "matroska") + uint([0x42, 0x87], 4) + uint([0x42, 0x85], 2))
        let info = element([0x15, 0x49, 0xA9, 0x66], uint([0x2A, 0xD7, 0xB1], 1_000_000)
                           + string([0x4D, 0x80], "pard-tests") + string([0x57, 0x41], "pard-tests"))
        let video = element([0xE0], uint([0xB0], width) + uint([0xBA], height))
        let track = element([0xAE], uint([0xD7], 1) + uint([0x73, 0xC5], 1) + uint([0x83], 1)
                            + string([0x86], "V_MJPEG") + video)
        let tracks = element([0x16, 0x54, 0xAE, 0x6B], track)
        let cluster = element([0x1F, 0x43, 0xB6, 0x75], uint([0xE7], 0))
        return header + element([0x18, 0x53, 0x80, 0x67], info + tracks + cluster)
    }

    /// A `[n, 3, 224, 224]` float32 `.npy` of zeros with `value` at `image, channel, row, column`.
    static func npy(images n: Int, value: Float, at index: (Int, Int, Int, Int), to path: String) throws {
        var values = [Float](repeating: 0, count: n * 3 * 224 * 224)
        values[((index.0 * 3 + index.1) * 224 + index.2) * 224 + index.3] = value
        try NPY.write(NPYArray(shape: [n, 3, 224, 224], values: values), to: path)
    }

    // MARK: - PNG and zlib

    static func bigEndian(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * UInt32($0))) } }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + data
        return bigEndian(UInt32(data.count)) + typed + bigEndian(crc32(typed))
    }

    /// CRC-32 (ISO-HDLC, as PNG and zlib use), bit by bit.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    /// A zlib stream of `data` in stored (uncompressed) deflate blocks.
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let n = min(65535, data.count - offset)
            let final: UInt8 = offset + n == data.count ? 1 : 0
            out += [final, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += data[offset..<(offset + n)]
            offset += n
        } while offset < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        return out + bigEndian(b << 16 | a)
    }

    // MARK: - EBML

    /// An EBML element with an 8-byte size.
    static func element(_ id: [UInt8], _ payload: [UInt8]) -> [UInt8] {
        id + [0x01] + (1..<8).map { UInt8(truncatingIfNeeded: payload.count >> (8 * (7 - $0))) } + payload
    }

    static func uint(_ id: [UInt8], _ v: Int) -> [UInt8] {
        let bytes = max(1, (Int.bitWidth - v.leadingZeroBitCount + 7) / 8)
        return element(id, (0..<bytes).map { UInt8(truncatingIfNeeded: v >> (8 * (bytes - 1 - $0))) })
    }

    static func string(_ id: [UInt8], _ s: String) -> [UInt8] { element(id, Array(s.utf8)) }
}

/// A run of the built `pard` with standard output on a given descriptor, its peak memory measured.
///
/// The child is started by a small Python parent (`/usr/bin/python3`), which reports the peak resident
/// set of its own children: a child spawned straight from this test runner (posix_spawn shares the
/// runner's memory until exec) would have its `ru_maxrss` start at the runner's own peak, which is over a
/// gigabyte while other tests hold the full-size model. The parent passes the exit status or signal on.
struct MeasuredRun {
    /// Exit status, or nil when a signal ended it (`signal` then says which).
    let status: Int32?
    let signal: Int32?
    let stderr: String
    /// Peak resident set size of the child, in KiB (`ru_maxrss`).
    let peakKiB: Int

    static let parent = """
        import os, resource, signal, subprocess, sys
        result = subprocess.run(sys.argv[2:])
        with open(sys.argv[1], "w") as out:
            out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
        if result.returncode < 0:
            signal.signal(-result.returncode, signal.SIG_DFL)
            os.kill(os.getpid(), -result.returncode)
        sys.exit(result.returncode)
        """

    /// Runs `pard arguments` (paths absolute: the child runs in this process's directory) with `stdout` (a descriptor of the caller's,
    /// left open) as its standard output and standard error captured in a file.
    static func run(_ arguments: [String], stdout: Int32) throws -> MeasuredRun {
        let tmp = try TemporaryDirectory("pard-measured")
        let errPath = tmp.path("stderr"), peakPath = tmp.path("peak")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let python = "/usr/bin/python3"
        let argv: [UnsafeMutablePointer<CChar>?] = ([python, "-c", parent, peakPath, PardProcess.executable.path] + arguments)
            .map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, python, &actions, nil, argv, environ)
        guard spawned == 0 else { throw SpawnFailure(code: spawned) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = status & 0x7F == 0
        let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        let peak = (try? String(contentsOfFile: peakPath, encoding: .utf8)).flatMap { Int($0) } ?? Int.max
        return MeasuredRun(status: exited ? (status >> 8) & 0xFF : nil, signal: exited ? nil : status & 0x7F,
                           stderr: stderr, peakKiB: peak)
    }
}

struct SpawnFailure: Error { let code: Int32 }
