import Foundation

/// A bounded first-in first-out queue between two threads: `push` blocks while it is full, `pop`
/// while it is empty. Used to hand batches from the decoding thread to the inference thread and the
/// batch buffers back.
final class BlockingQueue<Element>: @unchecked Sendable {  // all state under `condition`
    private let condition = NSCondition()
    private var items: [Element] = []
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        items.reserveCapacity(self.capacity)
    }

    func push(_ item: Element) {
        condition.lock()
        while items.count >= capacity { condition.wait() }
        items.append(item)
        condition.broadcast()
        condition.unlock()
    }

    func pop() -> Element {
        condition.lock()
        while items.isEmpty { condition.wait() }
        let item = items.removeFirst()
        condition.broadcast()
        condition.unlock()
        return item
    }
}
