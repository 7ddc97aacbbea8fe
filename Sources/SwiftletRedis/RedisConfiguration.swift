import Foundation
import NIOCore

/// Where a Redis server is and how to talk to it.
public struct RedisConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var database: Int
    /// `rediss://`: TLS with the system trust roots and the host name verified.
    public var useTLS: Bool
    /// PEM CA certificates to trust for TLS instead of the system's (a private CA).
    public var tlsCAFile: String?
    /// 3 asks for RESP3 with `HELLO 3` (falling back to RESP2 if the server cannot);
    /// 2 speaks RESP2.
    public var protocolVersion: Int
    /// Most connections the pool opens (pub/sub connections are separate).
    public var poolSize: Int
    /// How long a caller waits for a free pooled connection.
    public var poolWaitTimeout: TimeAmount
    public var connectTimeout: TimeAmount
    /// How long one command (or one pipeline) may wait for its reply.
    public var commandTimeout: TimeAmount
    /// Reconnect back-off after failures: doubling from `backoffBase`, capped at
    /// `backoffCap`, with jitter.
    public var backoffBase: TimeAmount
    public var backoffCap: TimeAmount

    public init(host: String = "127.0.0.1", port: Int = 6379, username: String? = nil, password: String? = nil,
                database: Int = 0, useTLS: Bool = false, tlsCAFile: String? = nil, protocolVersion: Int = 3, poolSize: Int = 8,
                poolWaitTimeout: TimeAmount = .seconds(1), connectTimeout: TimeAmount = .seconds(2),
                commandTimeout: TimeAmount = .seconds(1), backoffBase: TimeAmount = .milliseconds(50),
                backoffCap: TimeAmount = .seconds(2)) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.useTLS = useTLS
        self.tlsCAFile = tlsCAFile
        self.protocolVersion = protocolVersion
        self.poolSize = poolSize
        self.poolWaitTimeout = poolWaitTimeout
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.backoffBase = backoffBase
        self.backoffCap = backoffCap
    }

    /// Reads `redis://[user[:password]@]host[:port][/db]` or `rediss://…` (TLS). A
    /// password alone (`redis://:secret@host`) authenticates the default user.
    public init(url: String) throws(RedisError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              scheme == "redis" || scheme == "rediss"
        else { throw RedisError(.invalidConfiguration, "a Redis URL starts with redis:// or rediss://") }
        guard let host = components.host, !host.isEmpty else { throw RedisError(.invalidConfiguration, "the Redis URL has no host") }
        self.init()
        self.host = host
        self.port = components.port ?? 6379
        self.useTLS = scheme == "rediss"
        if let user = components.percentEncodedUser, !user.isEmpty { username = user.removingPercentEncoding }
        if let secret = components.percentEncodedPassword, !secret.isEmpty { password = secret.removingPercentEncoding }
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !path.isEmpty {
            guard let number = Int(path), number >= 0 else { throw RedisError(.invalidConfiguration, "the Redis URL's database is not a number") }
            database = number
        }
        guard (1...65535).contains(port) else { throw RedisError(.invalidConfiguration, "the Redis URL's port is out of range") }
    }
}
