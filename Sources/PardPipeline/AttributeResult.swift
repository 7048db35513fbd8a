import PARAttributes
import PromptPAR

/// What the model says about one crop: probabilities per attribute and the labels over the threshold
/// (at most one per exclusive group).
public struct AttributeResult: Sendable {
    /// `[A]` BN logits, head order.
    public let logits: [Float]
    /// `[A]` sigmoid of the logits.
    public let probabilities: [Float]
    /// Indices of the labels, head order.
    public let labels: [Int]

    public init(logits: [Float], attributes: AttributeSet, threshold: Float) {
        self.logits = logits
        probabilities = logits.map(sigmoid)
        labels = attributes.labels(probabilities: probabilities, threshold: threshold)
    }

    /// `{"name": probability, ...}` in head order, rounded to `decimals`.
    public func attributesObject(_ set: AttributeSet, decimals: Int) -> JSONLine {
        var o = JSONLine()
        for (i, name) in set.names.enumerated() { o.add(name, Double(probabilities[i]), decimals: decimals) }
        return o
    }

    public func labelNames(_ set: AttributeSet) -> [String] { labels.map { set.names[$0] } }
}
