import Foundation
import SwiftletCore
import Testing

@Suite("In-process cluster state")
struct InProcessClusterStateTests {
    let time = MutableClock(Date(timeIntervalSince1970: 1_800_000_000))

    @Test func isNotShared() {
        #expect(InProcessClusterState().isShared == false)
    }

    @Test func publishReachesEverySubscriberOfTheChannelAfterSubscribed() async throws {
        let cluster = InProcessClusterState(clock: time.clock)
        var first = cluster.subscribe(to: ["a", "b"]).makeAsyncIterator()
        var second = cluster.subscribe(to: ["a"]).makeAsyncIterator()
        var other = cluster.subscribe(to: ["c"]).makeAsyncIterator()
        #expect(cluster.subscriberCount == 3)

        try await cluster.publish("one", on: "a")
        try await cluster.publish("two", on: "b")
        try await cluster.publish("three", on: "c")

        #expect(await first.next() == .subscribed)
        #expect(await first.next() == .message(channel: "a", payload: "one"))
        #expect(await first.next() == .message(channel: "b", payload: "two"))
        #expect(await second.next() == .subscribed)
        #expect(await second.next() == .message(channel: "a", payload: "one"))
        #expect(await other.next() == .subscribed)
        #expect(await other.next() == .message(channel: "c", payload: "three"))
    }

    @Test func publishingWithoutSubscribersIsFine() async throws {
        try await InProcessClusterState().publish("nobody", on: "empty")
    }

    @Test func aCancelledConsumerEndsItsStreamAndUnsubscribes() async throws {
        let cluster = InProcessClusterState(clock: time.clock)
        let stream = cluster.subscribe(to: ["a"])
        let consumer = Task {
            var seen: [ClusterBusEvent] = []
            for await event in stream { seen.append(event) }
            return seen
        }
        try await cluster.publish("x", on: "a")
        consumer.cancel()
        _ = await consumer.value
        #expect(cluster.subscriberCount == 0)
        try await cluster.publish("after", on: "a")
    }

    /// A subscriber that falls behind loses its oldest events but always finds a
    /// `.subscribed` (re-sync) after the last one it lost, and never holds more than the
    /// buffer.
    @Test func aSlowSubscriberIsBoundedAndToldToResync() async throws {
        let cluster = InProcessClusterState(clock: time.clock, subscriberBuffer: 4)
        var events = cluster.subscribe(to: ["a"]).makeAsyncIterator()
        for index in 0..<10 {
            try await cluster.publish("m\(index)", on: "a")
        }
        var received: [ClusterBusEvent] = []
        for _ in 0..<4 {
            received.append(try #require(await events.next()))
        }
        #expect(received.last == .subscribed, "the newest event is the re-sync marker")
        #expect(received.contains(.message(channel: "a", payload: "m9")))
        #expect(!received.contains(.message(channel: "a", payload: "m0")), "the oldest were dropped")

        try await cluster.publish("fresh", on: "a")
        #expect(await events.next() == .message(channel: "a", payload: "fresh"), "nothing more was buffered")
    }

    @Test func keysExpireOnTheInjectedClock() async throws {
        let cluster = InProcessClusterState(clock: time.clock)
        try await cluster.set("k", to: "v1", expiresIn: 10)
        #expect(try await cluster.value(at: "k") == "v1")
        try await cluster.set("k", to: "v2", expiresIn: 10)
        #expect(try await cluster.value(at: "k") == "v2", "set replaces")
        time.advance(9.9)
        #expect(try await cluster.value(at: "k") == "v2")
        time.advance(0.1)
        #expect(try await cluster.value(at: "k") == nil, "gone at its expiry")
        #expect(try await cluster.value(at: "never") == nil)
    }

    @Test func setIfAbsentStoresOnlyWhenNothingLiveIsThere() async throws {
        let cluster = InProcessClusterState(clock: time.clock)
        #expect(try await cluster.setIfAbsent("lock", to: "a", expiresIn: 5))
        #expect(try await cluster.setIfAbsent("lock", to: "b", expiresIn: 5) == false)
        #expect(try await cluster.value(at: "lock") == "a")
        time.advance(5)
        #expect(try await cluster.setIfAbsent("lock", to: "b", expiresIn: 5), "an expired lease can be taken")
        #expect(try await cluster.value(at: "lock") == "b")
    }

    @Test func setIfAbsentRacedFromManyTasksHasExactlyOneWinner() async throws {
        let cluster = InProcessClusterState(clock: time.clock)
        let winners = await withTaskGroup(of: String?.self) { group in
            for index in 0..<200 {
                group.addTask {
                    (try? await cluster.setIfAbsent("nonce", to: "task-\(index)", expiresIn: 30)) == true ? "task-\(index)" : nil
                }
            }
            var winners: [String] = []
            for await winner in group { if let winner { winners.append(winner) } }
            return winners
        }
        #expect(winners.count == 1)
        #expect(try await cluster.value(at: "nonce") == winners.first)
    }

    @Test func compareAndDeleteOnlyRemovesTheExpectedValue() async throws {
        let cluster = InProcessClusterState(clock: time.clock)
        try await cluster.set("lock", to: "mine", expiresIn: 5)
        #expect(try await cluster.delete("lock", ifValue: "theirs") == false)
        #expect(try await cluster.value(at: "lock") == "mine")
        #expect(try await cluster.delete("lock", ifValue: "mine"))
        #expect(try await cluster.value(at: "lock") == nil)
        #expect(try await cluster.delete("lock", ifValue: "mine") == false, "already gone")

        try await cluster.set("lock", to: "mine", expiresIn: 5)
        time.advance(6)
        #expect(try await cluster.delete("lock", ifValue: "mine") == false, "an expired value is not there to delete")
    }

    @Test func counterIsAFixedWindow() async throws {
        let cluster = InProcessClusterState(clock: time.clock)
        #expect(try await cluster.increment("hits", by: 1, window: 10) == 1)
        time.advance(4)
        #expect(try await cluster.increment("hits", by: 2, window: 10) == 3)
        time.advance(5.9)
        #expect(try await cluster.increment("hits", by: 1, window: 10) == 4, "later additions do not extend the window")
        #expect(try await cluster.value(at: "hits") == "4")
        time.advance(0.1)
        #expect(try await cluster.increment("hits", by: 1, window: 10) == 1, "a new window starts from zero")
        time.advance(9.9)
        #expect(try await cluster.increment("hits", by: 1, window: 10) == 2)
    }

    @Test func counterCountsEveryConcurrentAddition() async throws {
        let cluster = InProcessClusterState(clock: time.clock)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<500 {
                group.addTask { _ = try? await cluster.increment("hits", by: 1, window: 60) }
            }
        }
        #expect(try await cluster.value(at: "hits") == "500")
    }

    @Test func incrementRefusesAKeyThatIsNotACounter() async throws {
        let cluster = InProcessClusterState(clock: time.clock)
        try await cluster.set("name", to: "text", expiresIn: 10)
        await #expect(throws: SwiftletError.self) { try await cluster.increment("name", by: 1, window: 10) }
        try await cluster.set("big", to: String(Int64.max), expiresIn: 10)
        await #expect(throws: SwiftletError.self) { try await cluster.increment("big", by: 1, window: 10) }
    }

    @Test func aZeroOrNegativeExpiryIsRefused() async throws {
        let cluster = InProcessClusterState(clock: time.clock)
        await #expect(throws: SwiftletError.self) { try await cluster.set("k", to: "v", expiresIn: 0) }
        await #expect(throws: SwiftletError.self) { _ = try await cluster.setIfAbsent("k", to: "v", expiresIn: -1) }
        await #expect(throws: SwiftletError.self) { _ = try await cluster.increment("k", by: 1, window: 0) }
        #expect(try await cluster.value(at: "k") == nil)
    }

    @Test func expiredKeysAreSweptSoMemoryHoldsOnlyLiveKeys() async throws {
        let cluster = InProcessClusterState(clock: time.clock)
        for index in 0..<1000 {
            try await cluster.set("old-\(index)", to: "v", expiresIn: 1)
        }
        time.advance(2)
        for index in 0..<100 {
            try await cluster.set("new-\(index)", to: "v", expiresIn: 60)
        }
        #expect(cluster.storedKeyCount == 100, "the sweep dropped the expired keys")
    }
}
