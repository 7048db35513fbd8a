import Foundation
import PardNATS
import PardTestSupport
import Testing

/// `NATSPullSubscription.fetch` against a real `nats-server -js`: deliveries that come after the caller
/// stopped waiting are kept and handed out by a later fetch, each message once, and no fetch overruns
/// libnats 3.4's message array (its batch fetch did when such deliveries were already held: issue 14's
/// workers crashed with "free(): invalid next size" after a server restart).
@Suite(.serialized) struct NATSPullSubscriptionTests {
    static func subscribed(_ server: NATSServer) throws -> (NATSConnection, NATSPullSubscription) {
        let connection = try NATSConnection(url: server.url, name: "pull-test")
        #expect(Self.poll(10) { connection.isConnected })
        try connection.ensureWorkQueueStream("PULLTEST", subjects: ["pull.test"])
        let subscription = try connection.pullSubscribe(subject: "pull.test", durable: "d", stream: "PULLTEST", ackWait: 60,
                                                        maxDeliver: -1, maxAckPending: 100_000)
        return (connection, subscription)
    }

    static func poll(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while Date() < deadline, !condition() { Thread.sleep(forTimeInterval: 0.05) }
        return condition()
    }

    @Test(arguments: [(4, 0.001), (3, 0.002), (64, 0.001)])
    func shortFetchesTakeEveryMessageOnce(max: Int, timeout: Double) throws {
        let server = try NATSServer()
        let (connection, subscription) = try Self.subscribed(server)
        let count = 600
        for i in 0..<count { try connection.publish(Array("m\(i)".utf8), to: "pull.test", messageID: "m\(i)") }
        var seen: [String: Int] = [:]
        let deadline = Date(timeIntervalSinceNow: 60)
        // Fetches that give up after a millisecond leave deliveries behind them, held in the subscription
        // when the next fetch starts: the case that overran libnats' array.
        while seen.values.reduce(0, +) < count, Date() < deadline {
            for message in try subscription.fetch(max: max, timeout: timeout) {
                #expect(message.data.count > 0)
                seen[String(decoding: message.data, as: UTF8.self), default: 0] += 1
                message.ack()
            }
        }
        #expect(seen.count == count)
        #expect(seen.values.allSatisfy { $0 == 1 }, "\(seen.filter { $0.value > 1 })")
        // Nothing left over: a last fetch that waits finds nothing.
        #expect(try subscription.fetch(max: max, timeout: 0.3).isEmpty)
    }

    @Test func aFetchAfterTheServerRestartedTakesWhatWasLeft() throws {
        let server = try NATSServer()
        let (connection, subscription) = try Self.subscribed(server)
        for i in 0..<40 { try connection.publish(Array("m\(i)".utf8), to: "pull.test", messageID: "m\(i)") }
        var seen = Set<String>()
        for message in try subscription.fetch(max: 10, timeout: 5) {
            seen.insert(String(decoding: message.data, as: UTF8.self))
            message.ack()
        }
        #expect(seen.count == 10)
        server.kill()
        // While it is down a fetch gives nothing (libnats holds the request until it is back) or fails.
        #expect(((try? subscription.fetch(max: 4, timeout: 0.2)) ?? []).isEmpty)
        try server.start()
        let deadline = Date(timeIntervalSinceNow: 30)
        while seen.count < 40, Date() < deadline {
            for message in (try? subscription.fetch(max: 4, timeout: 0.2)) ?? [] {
                seen.insert(String(decoding: message.data, as: UTF8.self))
                message.ack()
            }
        }
        #expect(seen.count == 40)
    }
}
