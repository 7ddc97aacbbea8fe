import Foundation
import NIOCore
import SwiftletCore
import SwiftletRedis

/// The cluster-state port on Redis: what several nodes share.
///
/// Every method is one round trip (scripts keep read-modify-write steps atomic on the
/// server), and every failure surfaces as a thrown `RedisError`, so each caller applies
/// its documented fallback instead of failing open (docs/operations.md, "Running several
/// nodes"). Subscriptions use their own connections and come back by themselves after
/// Redis restarts, reporting `.interrupted` and then `.subscribed` so consumers re-sync.
public final class RedisClusterState: ClusterState {
    public let client: RedisClient

    public init(client: RedisClient) {
        self.client = client
    }

    public var isShared: Bool { true }

    public func publish(_ payload: String, on channel: String) async throws {
        try await client.publish(payload, to: channel)
    }

    public func subscribe(to channels: [String]) -> AsyncStream<ClusterBusEvent> {
        let subscription = client.subscribe(channels: channels)
        return AsyncStream(bufferingPolicy: .bufferingOldest(RedisSubscription.bufferLimit)) { continuation in
            let forwarding = Task {
                for await event in subscription.events {
                    switch event {
                    case .subscribed: continuation.yield(.subscribed)
                    case .interrupted: continuation.yield(.interrupted)
                    case .message(let channel, let payload, _): continuation.yield(.message(channel: channel, payload: String(buffer: payload)))
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in
                forwarding.cancel()
                subscription.cancel()
            }
        }
    }

    /// INCRBY, and the window's expiry set when the key has none (its first addition).
    static let incrementScript = RedisScript("""
        local total = redis.call('INCRBY', KEYS[1], ARGV[1])
        if redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        return total
        """)

    /// Deletes the key only while it holds the expected value.
    static let compareAndDeleteScript = RedisScript("""
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """)

    public func increment(_ key: String, by amount: Int64, window: TimeInterval) async throws -> Int64 {
        let reply = try await client.evaluate(Self.incrementScript, keys: [key], arguments: [String(amount), Self.milliseconds(window)])
        guard let total = reply.int else { throw RedisError(.protocolViolation, "INCRBY answered \(reply)") }
        return total
    }

    public func setIfAbsent(_ key: String, to value: String, expiresIn: TimeInterval) async throws -> Bool {
        try await client.send(RedisCommand("SET", [key, value, "PX", Self.milliseconds(expiresIn), "NX"])) != .null
    }

    public func set(_ key: String, to value: String, expiresIn: TimeInterval) async throws {
        try await client.send(RedisCommand("SET", [key, value, "PX", Self.milliseconds(expiresIn)]))
    }

    public func value(at key: String) async throws -> String? {
        try await client.get(key)
    }

    public func delete(_ key: String, ifValue value: String) async throws -> Bool {
        try await client.evaluate(Self.compareAndDeleteScript, keys: [key], arguments: [value]).int == 1
    }

    /// Redis expiries are whole milliseconds, at least one.
    static func milliseconds(_ seconds: TimeInterval) -> String {
        String(max(1, Int64((seconds * 1000).rounded(.up))))
    }
}
