import Foundation
import SwiftletClusterRedis
import SwiftletCore
import SwiftletRedis
import Testing

/// The cluster-state port on a real Redis: the primitives later features use (counters,
/// nonces, locks, the bus) and how the bus reports an outage.
@Suite("Redis cluster state", .enabled(if: TestRedisServer.isAvailable))
struct RedisClusterStateTests {
    func withState<T>(_ body: (RedisClusterState, TestRedisServer) async throws -> T) async throws -> T {
        let server = try await TestRedisServer.start()
        var configuration = try RedisClientTests.patient(server.url)
        configuration.backoffBase = .milliseconds(20)
        configuration.backoffCap = .milliseconds(200)
        let state = RedisClusterState(client: try RedisClient(configuration: configuration))
        defer {
            server.stop()
        }
        let result = try await body(state, server)
        await state.client.shutdown()
        return result
    }

    @Test("a counter's window starts at its first addition and is not extended by later ones")
    func counterWindow() async throws {
        try await withState { state, _ in
            #expect(try await state.increment("rate:a", by: 1, window: 60) == 1)
            #expect(try await state.increment("rate:a", by: 4, window: 60) == 5)
            let ttl = try await state.client.send("PTTL", "rate:a").int ?? -1
            #expect(ttl > 55_000 && ttl <= 60_000)
            // A later addition with another window leaves the first expiry alone.
            #expect(try await state.increment("rate:a", by: 1, window: 3600) == 6)
            #expect(try await state.client.send("PTTL", "rate:a").int ?? -1 <= 60_000)
            #expect(state.isShared)
        }
    }

    @Test("set-if-absent has one winner among racing callers; compare-and-delete releases only one's own")
    func nonceAndLock() async throws {
        try await withState { state, _ in
            // Redis expires keys by its own wall clock; the lease is long enough that a
            // loaded test machine cannot see it lapse between the race and the reads below.
            let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<50 {
                    group.addTask { try await state.setIfAbsent("lock:job", to: "owner-\(index)", expiresIn: 600) }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(winners == 1)
            let owner = try #require(try await state.value(at: "lock:job"))
            #expect(try await !state.delete("lock:job", ifValue: "someone-else"))
            #expect(try await state.value(at: "lock:job") == owner)
            #expect(try await state.delete("lock:job", ifValue: owner))
            #expect(try await state.value(at: "lock:job") == nil)
            try await state.set("token", to: "t1", expiresIn: 30.0005)
            #expect(try await state.value(at: "token") == "t1")
            let ttl = try await state.client.send("PTTL", "token").int ?? -1
            #expect(ttl > 10_000 && ttl <= 30_001, "expiry in whole milliseconds, rounded up")
        }
    }

    @Test("the bus delivers between nodes, and reports an outage and the re-subscription after it")
    func busAcrossRestart() async throws {
        try await withState { state, server in
            var configuration = try RedisClientTests.patient(server.url)
            configuration.backoffBase = .milliseconds(20)
            configuration.backoffCap = .milliseconds(200)
            let otherNode = RedisClusterState(client: try RedisClient(configuration: configuration))
            var events = otherNode.subscribe(to: ["swiftlet:test"]).makeAsyncIterator()
            let first = await events.next()
            #expect(first == .subscribed)
            try await state.publish("one", on: "swiftlet:test")
            let message = await events.next()
            #expect(message == .message(channel: "swiftlet:test", payload: "one"))

            await server.kill()
            let lost = await events.next()
            #expect(lost == .interrupted)
            await #expect(throws: RedisError.self) { try await state.publish("lost", on: "swiftlet:test") }
            try await server.start()
            let back = await events.next()
            #expect(back == .subscribed)
            try await state.publish("two", on: "swiftlet:test")
            let after = await events.next()
            #expect(after == .message(channel: "swiftlet:test", payload: "two"))
            await otherNode.client.shutdown()
        }
    }

    @Test("Redis failures are logged by what failed, with quoted text masked")
    func loggedFailures() {
        #expect(ErrorLog.describe(RedisError(.timeout, "no reply")) == "redis timeout")
        #expect(ErrorLog.describe(RedisError(serverReply: "WRONGTYPE Operation against 'user:13800138000'"))
            == "redis WRONGTYPE: WRONGTYPE Operation against '…'")
        #expect(ErrorLog.describe(RedisError(.unavailable, "x")) == "redis unavailable (reconnecting)")
    }

    @Test("a bus that cannot reach Redis at all says so at once")
    func busDownAtStart() async throws {
        let unreachable = try LoopbackPorts.Refusing()
        defer { withExtendedLifetime(unreachable) {} }
        var configuration = try RedisClientTests.patient("redis://127.0.0.1:\(unreachable.port)")
        configuration.backoffBase = .milliseconds(20)
        let state = RedisClusterState(client: try RedisClient(configuration: configuration))
        var events = state.subscribe(to: ["swiftlet:test"]).makeAsyncIterator()
        let first = await events.next()
        #expect(first == .interrupted, "consumers fall back (poll the database) until the first subscription")
        await state.client.shutdown()
    }
}
