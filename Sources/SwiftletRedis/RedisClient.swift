import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// A Redis client: a bounded connection pool for commands, pipelines and scripts, and
/// dedicated connections for subscriptions.
///
/// Every call fails with a `RedisError` instead of hanging: commands have a timeout, the
/// pool has a wait timeout, and while Redis is unreachable calls fail at once
/// (`.unavailable`) until the back-off allows the next attempt. Reconnection is automatic.
public final class RedisClient: Sendable {
    public let configuration: RedisConfiguration
    private let pool: RedisConnectionPool
    private let tls: NIOSSLContext?
    private let group: any EventLoopGroup

    public init(configuration: RedisConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        self.configuration = configuration
        self.group = group
        if configuration.useTLS {
            var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
            tlsConfiguration.minimumTLSVersion = .tlsv12
            if let caFile = configuration.tlsCAFile {
                tlsConfiguration.trustRoots = .file(caFile)
            }
            tls = try NIOSSLContext(configuration: tlsConfiguration)
        } else {
            tls = nil
        }
        pool = RedisConnectionPool(configuration: configuration, tls: tls, group: group)
    }

    /// Sends one command; a server error reply is thrown.
    @discardableResult
    public func send(_ command: RedisCommand) async throws -> RESPValue {
        try await pool.withConnection { try await $0.send(command) }
    }

    @discardableResult
    public func send(_ name: String, _ arguments: String...) async throws -> RESPValue {
        try await send(RedisCommand(name, arguments))
    }

    /// Sends all commands on one connection in one write and returns their replies in
    /// order (server errors as `.error` values).
    public func pipeline(_ commands: [RedisCommand]) async throws -> [RESPValue] {
        try await pool.withConnection { try await $0.pipeline(commands) }
    }

    /// Runs `body` with one connection to itself (several dependent commands without
    /// another caller's commands between them on that connection).
    public func withConnection<T: Sendable>(_ body: (RedisConnection) async throws -> T) async throws -> T {
        try await pool.withConnection(body)
    }

    /// Runs a Lua script by its hash, loading it first if the server does not have it.
    public func evaluate(_ script: RedisScript, keys: [String] = [], arguments: [String] = []) async throws -> RESPValue {
        let words = [script.sha1, String(keys.count)] + keys + arguments
        return try await pool.withConnection { connection in
            do {
                return try await connection.send(RedisCommand("EVALSHA", words))
            } catch let error as RedisError where error.serverKind == "NOSCRIPT" {
                try await connection.send(RedisCommand("SCRIPT", "LOAD", script.source))
                return try await connection.send(RedisCommand("EVALSHA", words))
            }
        }
    }

    /// A subscription on its own connection, which comes back by itself after a
    /// disconnect (reporting `.interrupted`, then `.subscribed` again).
    public func subscribe(channels: [String] = [], patterns: [String] = []) -> RedisSubscription {
        RedisSubscription(configuration: configuration, tls: tls, group: group, channels: channels, patterns: patterns)
    }

    /// Closes pooled connections; later calls fail with `.shutDown`.
    public func shutdown() async {
        await pool.shutDown()
    }
}

extension RedisClient {
    public func get(_ key: String) async throws -> String? {
        try await send("GET", key).string
    }

    /// `SET key value [PX ms] [NX]`; false when `onlyIfAbsent` and the key existed.
    @discardableResult
    public func set(_ key: String, to value: String, expiresIn: TimeAmount? = nil, onlyIfAbsent: Bool = false) async throws -> Bool {
        var words = [key, value]
        if let expiresIn { words += ["PX", String(max(1, expiresIn.nanoseconds / 1_000_000))] }
        if onlyIfAbsent { words.append("NX") }
        return try await send(RedisCommand("SET", words)) != .null
    }

    @discardableResult
    public func delete(_ keys: String...) async throws -> Int64 {
        try await send(RedisCommand("DEL", keys)).int ?? 0
    }

    /// Sends a message; returns how many subscribers (on the server's node) received it.
    @discardableResult
    public func publish(_ message: String, to channel: String) async throws -> Int64 {
        try await send("PUBLISH", channel, message).int ?? 0
    }
}
