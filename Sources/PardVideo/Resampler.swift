/// Antialiased bilinear resampling of packed 8-bit RGB, the algorithm of Pillow's
/// `Image.resize(..., BILINEAR)` (also torchvision's `antialias=True`): a triangle filter whose
/// support widens by the downscale factor, pixel centres at +0.5, weights in 22-bit fixed point,
/// a horizontal pass then a vertical pass, each rounded to 8 bits.
///
/// All buffers are kept and grown to the largest request seen, so resizing allocates nothing once
/// warmed up. Not thread-safe.
final class Resampler {
    private static let precisionBits: Int32 = 22

    /// Per output pixel `i`: first source index `bounds[2i]`, tap count `bounds[2i+1]`, weights
    /// `weights[i * taps ..< i * taps + count]`.
    private struct Coefficients {
        var bounds = UnsafeMutablePointer<Int32>.allocate(capacity: 0)
        var weights = UnsafeMutablePointer<Int32>.allocate(capacity: 0)
        var boundsCapacity = 0
        var weightsCapacity = 0
        var taps = 0

        mutating func free() {
            bounds.deallocate()
            weights.deallocate()
        }

        /// Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for `inSize` -> `outSize`.
        mutating func compute(inSize: Int, outSize: Int) {
            let scale = Double(inSize) / Double(outSize)
            let filterScale = max(scale, 1)
            let support = filterScale  // the triangle's support is 1
            taps = Int(support.rounded(.up)) * 2 + 1
            if 2 * outSize > boundsCapacity {
                bounds.deallocate()
                boundsCapacity = 2 * outSize
                bounds = .allocate(capacity: boundsCapacity)
            }
            if taps * outSize > weightsCapacity {
                weights.deallocate()
                weightsCapacity = taps * outSize
                weights = .allocate(capacity: weightsCapacity)
            }
            let inverse = 1 / filterScale
            let one = Double(Int32(1) << Resampler.precisionBits)
            for i in 0..<outSize {
                let center = (Double(i) + 0.5) * scale
                // (int) casts truncate toward zero, as in C.
                let first = max(Int(center - support + 0.5), 0)
                let count = min(Int(center + support + 0.5), inSize) - first
                let k = weights + i * taps
                var total = 0.0
                for x in 0..<count {
                    let t = abs((Double(x + first) - center + 0.5) * inverse)
                    total += t < 1 ? 1 - t : 0
                }
                for x in 0..<taps {
                    if x < count {
                        let t = abs((Double(x + first) - center + 0.5) * inverse)
                        var w = t < 1 ? 1 - t : 0
                        if total != 0 { w /= total }
                        k[x] = Int32(w < 0 ? -0.5 + w * one : 0.5 + w * one)
                    } else {
                        k[x] = 0
                    }
                }
                bounds[2 * i] = Int32(first)
                bounds[2 * i + 1] = Int32(max(count, 0))
            }
        }
    }

    private var horizontal = Coefficients()
    private var vertical = Coefficients()
    private var scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: 0)
    private var scratchCapacity = 0

    deinit {
        horizontal.free()
        vertical.free()
        scratch.deallocate()
    }

    /// Resizes `sourceWidth` x `sourceHeight` RGB pixels at `source` (rows `sourceStride` bytes
    /// apart) to `width` x `height` at `destination` (rows `destinationStride` bytes apart).
    func resize(source: UnsafePointer<UInt8>, sourceStride: Int, sourceWidth: Int, sourceHeight: Int,
                destination: UnsafeMutablePointer<UInt8>, destinationStride: Int, width: Int, height: Int) {
        horizontal.compute(inSize: sourceWidth, outSize: width)
        vertical.compute(inSize: sourceHeight, outSize: height)

        // Only the source rows the vertical pass reads need the horizontal pass.
        let firstRow = Int(vertical.bounds[0])
        let lastRow = Int(vertical.bounds[2 * (height - 1)] + vertical.bounds[2 * (height - 1) + 1])
        let rows = lastRow - firstRow
        let scratchStride = width * 3
        if rows * scratchStride > scratchCapacity {
            scratch.deallocate()
            scratchCapacity = rows * scratchStride
            scratch = .allocate(capacity: scratchCapacity)
        }

        let half = Int32(1) << (Self.precisionBits - 1)
        let shift = Self.precisionBits
        @inline(__always) func clip(_ v: Int32) -> UInt8 {
            let s = v >> shift
            return s < 0 ? 0 : (s > 255 ? 255 : UInt8(truncatingIfNeeded: s))
        }

        // Horizontal: source rows firstRow..<lastRow -> scratch.
        let hTaps = horizontal.taps
        for row in 0..<rows {
            let inRow = source + (firstRow + row) * sourceStride
            let outRow = scratch + row * scratchStride
            for x in 0..<width {
                let first = Int(horizontal.bounds[2 * x]), count = Int(horizontal.bounds[2 * x + 1])
                let k = horizontal.weights + x * hTaps
                var r = half, g = half, b = half
                var p = inRow + first * 3
                for t in 0..<count {
                    let w = k[t]
                    r &+= Int32(p[0]) &* w
                    g &+= Int32(p[1]) &* w
                    b &+= Int32(p[2]) &* w
                    p += 3
                }
                outRow[3 * x] = clip(r)
                outRow[3 * x + 1] = clip(g)
                outRow[3 * x + 2] = clip(b)
            }
        }

        // Vertical: scratch -> destination.
        let vTaps = vertical.taps
        let values = width * 3
        for y in 0..<height {
            let first = Int(vertical.bounds[2 * y]) - firstRow, count = Int(vertical.bounds[2 * y + 1])
            let k = vertical.weights + y * vTaps
            let outRow = destination + y * destinationStride
            let inBase = scratch + first * scratchStride
            for v in 0..<values {
                var s = half
                var p = inBase + v
                for t in 0..<count {
                    s &+= Int32(p.pointee) &* k[t]
                    p += scratchStride
                }
                outRow[v] = clip(s)
            }
        }
    }
}
