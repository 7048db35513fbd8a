/// Still images (PNG, JPEG, BMP, ... whatever FFmpeg's image demuxers read), for
/// `pard classify image.jpg`: decode with `load`, then `CropExtractor.cropWhole` letterboxes the
/// whole picture like a pedestrian crop.
public enum ImageFile {
    /// Decodes the picture of an image file. The frame keeps the decoder's pixel format
    /// (`rgb24`/`rgba`/`pal8` for PNG, `yuvj420p`... for JPEG); number 1, pts 0.
    /// - Throws: `VideoError.openFailed` and the other open errors naming `path`, or
    ///   `.noPicture`.
    public static func load(path: String) throws -> DecodedFrame {
        // A '%' in a file name must not turn it into an image2 sequence pattern.
        let options = DecoderOptions(threads: 1, formatOptions: ["pattern_type": "none"])
        let decoder = try VideoDecoder(url: path, options: options)
        guard let frame = try decoder.nextFrame() else {
            throw VideoError.noPicture(url: decoder.url)
        }
        return frame
    }
}
