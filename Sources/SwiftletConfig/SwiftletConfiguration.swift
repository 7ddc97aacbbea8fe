/// The whole typed configuration, parsed and validated once at start-up.
///
/// Everything downstream takes values from here, never from the environment, so a
/// running server cannot hold a half-valid setting. See `docs/configuration.md`.
public struct SwiftletConfiguration: Sendable, Equatable {
    public enum Profile: String, Sendable, CaseIterable {
        case development, test, production
    }

    public struct HTTP: Sendable, Equatable {
        public var host: String = "127.0.0.1"
        public var port: Int = 8080
        /// Largest accepted request body; larger ones get 413 before they are read.
        public var maxBodyBytes: Int = 1_048_576
        /// How long a keep-alive connection may wait for its next request.
        public var idleTimeoutSeconds: Double = 60
        /// How long a client may take to send a request head once it started (slowloris bound).
        public var headerTimeoutSeconds: Double = 10
        /// How long a client may take to send a request body after the head.
        public var bodyTimeoutSeconds: Double = 30
        /// How long shutdown waits for requests in flight before closing connections.
        public var shutdownTimeoutSeconds: Double = 25
        public init() {}
    }

    public struct Log: Sendable, Equatable {
        public enum Format: String, Sendable, CaseIterable { case json, text }
        public enum Level: String, Sendable, CaseIterable { case trace, debug, info, notice, warning, error, critical }
        public var level: Level = .info
        public var format: Format = .json
        /// Whether each request gets an access log line.
        public var accessLog: Bool = true
        public init() {}
    }

    public struct Storage: Sendable, Equatable {
        public enum Engine: String, Sendable, CaseIterable { case sqlite, postgres }
        public enum Synchronous: String, Sendable, CaseIterable { case full, normal }
        public var engine: Engine = .sqlite
        /// PostgreSQL only: apply pending migrations on `serve` (SQLite always does).
        public var autoMigrate: Bool = false
        public var sqlitePath: String = "./data/swiftlet.sqlite"
        public var sqliteReaders: Int = 4
        public var sqliteBusyTimeoutMilliseconds: Int = 5000
        public var sqliteSynchronous: Synchronous = .full
        /// Validated PostgreSQL URL; required when `engine` is `postgres`.
        public var postgresURL: String?
        public var postgresPoolSize: Int = 10
        public var postgresConnectTimeoutSeconds: Double = 5
        public init() {}
    }

    public struct Cluster: Sendable, Equatable {
        /// How many nodes will serve this deployment; more than one needs shared engines.
        public var nodes: Int = 1
        public init() {}
    }

    public var profile: Profile = .development
    public var http = HTTP()
    public var log = Log()
    public var storage = Storage()
    public var cluster = Cluster()

    public init() {}
}
