import PARAttributes

/// Which tracked boxes to classify: a track when first seen, then at most once every `interval` seconds
/// of stream time (0 = every box). Lives on the detection side. A track that comes back after `timeout`
/// seconds unseen is a new track, first seen again. It also remembers which tracks already had a crop
/// reach the pool (their later crops are shed first). Tracks unseen for `timeout` are forgotten, so the
/// memory it holds follows the tracks in view, not every id ever seen.
public struct TrackIntervalGate: Sendable {
    public let interval: Double
    public let timeout: Double
    private var lastClassified: [Int: Double] = [:]
    private var lastSeen: [Int: Double] = [:]
    private var cropped: Set<Int> = []
    private var admissions = 0

    public init(interval: Double, timeout: Double) {
        self.interval = interval
        self.timeout = timeout
    }

    /// Whether the box of track `id` at `pts` (seconds) is to be classified; if so, it is recorded.
    public mutating func admit(id: Int, pts: Double) -> Bool {
        admissions += 1
        if admissions % 1024 == 0 { forget(before: pts - timeout) }
        defer { lastSeen[id] = pts }
        if let seen = lastSeen[id], pts - seen > timeout + 1e-9 { forgetTrack(id) }
        if interval > 0, let last = lastClassified[id], pts - last < interval - 1e-9 { return false }
        lastClassified[id] = pts
        return true
    }

    /// Whether a crop of track `id` has reached the pool since the track was (last) first seen.
    public func hasCrop(_ id: Int) -> Bool { cropped.contains(id) }

    /// A crop of track `id` reached the pool.
    public mutating func noteCrop(_ id: Int) { cropped.insert(id) }

    /// Tracks remembered now (for tests of the bound).
    public var trackCount: Int { lastSeen.count }

    private mutating func forgetTrack(_ id: Int) {
        lastClassified[id] = nil
        cropped.remove(id)
    }

    /// Forgets the tracks last seen before `pts` (more than `timeout` ago).
    private mutating func forget(before pts: Double) {
        for (id, seen) in lastSeen where seen < pts - 1e-9 {
            lastSeen[id] = nil
            forgetTrack(id)
        }
    }
}

/// The running mean of each track's probabilities, summarised when the track has not been seen for
/// `timeout` seconds of video time or the stream ends. Lives on the result side.
public struct TrackBook: Sendable {
    public struct Track: Sendable {
        public let id: Int
        public var firstFrame: Int, lastFrame: Int
        public var firstPTS: Double, lastPTS: Double
        /// Boxes of the track seen, classified or not.
        public var boxes = 0
        public var observations = 0
        /// `[A]` sums of probabilities.
        public var sums: [Double]
    }

    public let timeout: Double
    public private(set) var open: [Int: Track] = [:]

    public init(timeout: Double) { self.timeout = timeout }

    /// A box of track `id` was seen, with its probabilities when it was classified.
    public mutating func observe(id: Int, frame: Int, pts: Double, probabilities: [Float]?) {
        var t = open[id] ?? Track(id: id, firstFrame: frame, lastFrame: frame, firstPTS: pts, lastPTS: pts,
                                  sums: [Double](repeating: 0, count: probabilities?.count ?? 0))
        // Sightings may arrive out of order (live streams): keep the extremes.
        if pts >= t.lastPTS { t.lastFrame = frame; t.lastPTS = pts }
        if pts < t.firstPTS { t.firstFrame = frame; t.firstPTS = pts }
        t.boxes += 1
        if let p = probabilities {
            if t.sums.count != p.count { t.sums = [Double](repeating: 0, count: p.count) }
            for i in p.indices { t.sums[i] += Double(p[i]) }
            t.observations += 1
        }
        open[id] = t
    }

    /// Tracks not seen since `pts - timeout`, removed, in order of last sighting then id.
    public mutating func expire(at pts: Double) -> [Track] {
        let done = open.values.filter { pts - $0.lastPTS > timeout + 1e-9 }.sorted { ($0.lastPTS, $0.id) < ($1.lastPTS, $1.id) }
        for t in done { open[t.id] = nil }
        return done
    }

    /// Every open track, removed, in order of first sighting then id (end of stream, shutdown).
    public mutating func closeAll() -> [Track] {
        let all = open.values.sorted { ($0.firstPTS, $0.id) < ($1.firstPTS, $1.id) }
        open.removeAll()
        return all
    }
}
