import PardVideo
import Foundation

/// Paces frames at their presentation times: the first frame goes at once, each later one
/// `pts - firstPTS` seconds after it (wall clock). If the consumer falls more than a second behind,
/// the pacer starts again from the late frame instead of rushing to catch up.
struct FramePacer {
    private var anchor: (wall: ContinuousClock.Instant, pts: Double)?

    /// Sleeps until the frame with `pts` (seconds) is due. False when `stop` was raised meanwhile.
    mutating func wait(untilPTS pts: Double, stop: StopSignal) -> Bool {
        let now = ContinuousClock.now
        guard let anchor, pts >= anchor.pts else {
            self.anchor = (now, pts)
            return !stop.isStopped
        }
        let due = anchor.wall + .milliseconds(Int64(((pts - anchor.pts) * 1000).rounded()))
        if due > now {
            let wait = due - now
            let seconds = Double(wait.components.seconds) + Double(wait.components.attoseconds) * 1e-18
            return stop.sleep(seconds)
        }
        if now - due > .seconds(1) { self.anchor = (now, pts) }
        return !stop.isStopped
    }
}
