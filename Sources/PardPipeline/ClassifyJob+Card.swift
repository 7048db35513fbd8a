import PARAttributes
import PardVideo

extension ClassifyJob {
    /// `pard classify --card OUT.png IMAGE`: the attribute card (`AttributeCard`) of the whole image
    /// `frame` with `result`, titled with the file's name, as PNG at `path`.
    /// - Throws: `VideoError.writeFailed` naming `path`.
    public static func writeCard(to path: String, frame: DecodedFrame, result: AttributeResult, set: AttributeSet,
                                 threshold: Float, title: String) throws {
        let content = AttributeCard.Content(title: title, set: set, probabilities: result.probabilities, threshold: threshold)
        try AttributeCard.write(frame: frame, rect: CropRect(x0: 0, y0: 0, x1: frame.width, y1: frame.height), content, to: path)
    }
}
