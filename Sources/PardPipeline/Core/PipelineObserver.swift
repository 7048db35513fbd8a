/// What the result stage tells about each box as it is accounted for, so that counts flow one way:
/// `pard process` adds them to its summary and progress, `pard run` to its metrics. Called on the result
/// stage's thread, in the order of the items.
public protocol PipelineObserver: AnyObject {
    /// A crop went through the model (or was cut, without a model).
    func classified(stream: Int)
    /// A tracked box inside its track's interval.
    func skippedByInterval(stream: Int)
    /// A box with no area in its frame.
    func invalid(stream: Int)
    /// A crop given up before the model ran it.
    func shed(stream: Int, reason: ShedReason)
    /// An event went to the sinks.
    func emitted(stream: Int, type: EventType)
    /// Every box of frame `frame` (at `pts` seconds) is accounted for.
    func frameDone(stream: Int, frame: Int, pts: Double)
}

extension PipelineObserver {
    public func classified(stream: Int) {}
    public func skippedByInterval(stream: Int) {}
    public func invalid(stream: Int) {}
    public func shed(stream: Int, reason: ShedReason) {}
    public func emitted(stream: Int, type: EventType) {}
    public func frameDone(stream: Int, frame: Int, pts: Double) {}
}
