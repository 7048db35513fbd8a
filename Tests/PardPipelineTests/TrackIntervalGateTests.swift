import PardPipeline
import Testing

/// The track interval gate forgets tracks gone for longer than their timeout: a service that sees a new
/// id every few frames for days holds the tracks in view, not every id ever seen.
@Suite struct TrackIntervalGateTests {
    @Test func memoryFollowsTheTracksInView() {
        var gate = TrackIntervalGate(interval: 1, timeout: 2)
        // 20,000 ids, each seen for one second (10 frames at 10 frames/s), 5 in view at a time.
        var most = 0
        for frame in 0..<40_000 {
            let pts = Double(frame) / 10
            for k in 0..<5 { _ = gate.admit(id: frame / 10 * 5 + k, pts: pts) }
            most = max(most, gate.trackCount)
        }
        // In view within the timeout: 3 seconds of ids (15), plus what 1,024 admissions add between sweeps.
        #expect(most < 300, "\(most) tracks remembered at most")
    }

    @Test func aTrackBackAfterItsTimeoutIsNewAndHasNoCrop() {
        var gate = TrackIntervalGate(interval: 1, timeout: 2)
        let first = gate.admit(id: 5, pts: 0)
        gate.noteCrop(5)
        #expect(first && gate.hasCrop(5))
        let withinInterval = gate.admit(id: 5, pts: 0.5)
        let back = gate.admit(id: 5, pts: 4.0)  // unseen for 3.5 s > 2 s: a new track
        #expect(!withinInterval && back)
        #expect(!gate.hasCrop(5))
    }
}
