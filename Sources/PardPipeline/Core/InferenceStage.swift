import Foundation
import PromptPAR

/// The model side of the pipeline, one for `pard process` and `pard run`: takes batches of work items from
/// the `CropPool`, runs their crops through the one model, and hands items and logits to the
/// `ResultStage`. Its buffers (`[maxBatch, 3, S, S]` images, `[maxBatch, A]` logits, the model's
/// workspace) are allocated once; a batch allocates only its item list. Runs on its own thread.
public final class InferenceStage {
    public let pool: CropPool
    public let results: ResultStage
    public let maxBatch: Int
    /// nil: no model (`--no-model`); crops are counted, not run.
    private let session: InferenceSession?
    private let images: UnsafeMutablePointer<Float>
    private let logits: UnsafeMutablePointer<Float>
    private let observer: BatchObserver?

    /// Told of each forward pass (metrics, summaries).
    public protocol BatchObserver: AnyObject {
        /// `crops` crops ran in `seconds`.
        func batchRan(crops: Int, seconds: Double)
    }

    public init(model: LoadedModel?, pool: CropPool, results: ResultStage, maxBatch: Int, observer: BatchObserver? = nil) {
        self.pool = pool
        self.results = results
        self.maxBatch = max(1, maxBatch)
        self.observer = observer
        session = model.map { InferenceSession(model: $0.model, maxBatch: max(1, maxBatch)) }
        images = .allocate(capacity: self.maxBatch * pool.floatsPerCrop)
        images.initialize(repeating: 0, count: self.maxBatch * pool.floatsPerCrop)
        let a = model?.model.config.attributes ?? 0
        logits = .allocate(capacity: max(1, self.maxBatch * a))
        logits.initialize(repeating: 0, count: max(1, self.maxBatch * a))
    }

    deinit {
        images.deallocate()
        logits.deallocate()
    }

    /// Runs the next batch (see `CropPool.nextBatch` for `wait` and `idle`, seconds) and accounts for
    /// its items; the number of items (0: none came within `idle`, or the pool is closed and empty).
    @discardableResult
    public func step(wait: Double, idle: Double) -> Int {
        let items = pool.nextBatch(maxCrops: maxBatch, wait: wait, idle: idle)
        guard !items.isEmpty else { return 0 }
        var crops = 0
        for item in items {
            guard let slot = item.slot else { continue }
            (images + crops * pool.floatsPerCrop).update(from: pool.start(of: slot), count: pool.floatsPerCrop)
            crops += 1
        }
        pool.finished(items)
        if let session, crops > 0 {
            let started = ContinuousClock.now
            session.run(images: images, count: crops, logits: logits)
            let elapsed = ContinuousClock.now - started
            observer?.batchRan(crops: crops, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        }
        results.handle(items, logits: session == nil ? nil : UnsafePointer(logits))
        return items.count
    }

    /// Accounts for what is still queued without running it (shutdown): its crops are shed for `reason`.
    public func shedRemaining(reason: ShedReason) {
        results.handle(pool.drain(reason: reason), logits: nil)
    }
}
