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
        /// Pending-connection queue; too small a queue turns a connection burst into SYN
        /// retries (a one-second stall for the unlucky clients).
        public var backlog: Int = 1024
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
        /// Whether the inline lane answers what it can (see `InlineRouteTable`).
        public var inlineRoutes: Bool = true
        /// TLS termination; off unless a certificate and key are configured.
        public var tls = TLS()
        public init() {}
    }

    /// TLS termination by the server itself (instead of a proxy in front).
    public struct TLS: Sendable, Equatable {
        public enum Version: String, Sendable, CaseIterable {
            case v1_2 = "1.2"
            case v1_3 = "1.3"
        }

        /// PEM certificate chain, leaf first. TLS is on when this and `keyFile` are set.
        public var certificateFile: String?
        /// PEM private key of the leaf certificate.
        public var keyFile: String?
        /// Oldest protocol version accepted: 1.3 unless clients that need 1.2 must be served.
        public var minimumVersion: Version = .v1_3
        /// PEM certificates of the CAs whose client certificates are accepted (mTLS). Clients
        /// without a certificate may still connect; those presenting one must pass validation.
        public var clientCAFile: String?
        /// With `clientCAFile`: operator routes (`/admin/v1`) need a verified client certificate.
        public var requireClientCertificateForAdmin: Bool = true

        public var isEnabled: Bool { certificateFile != nil && keyFile != nil }
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
        /// Connections beside the pool for the catalogue's reads (`PostgresReadConnections`).
        public var postgresReadConnections: Int = 4
        public var postgresConnectTimeoutSeconds: Double = 5
        /// How long a request waits for a pooled connection before answering 503
        /// `storage.unavailable` (the pool itself would wait a minute for a lost server).
        public var postgresLeaseTimeoutSeconds: Double = 5
        /// Production only: accept a remote PostgreSQL host without `sslmode=verify-full`
        /// (logged as a warning at every start).
        public var postgresAllowUnverifiedTLS: Bool = false
        public init() {}
    }

    /// The Redis the nodes share (see `RedisURLShape`); nil keeps shared state in this process.
    public struct Redis: Sendable, Equatable {
        /// Validated `redis://` or `rediss://` URL, password included: never print it, use `redactedURL`.
        public var url: String?
        public var poolSize: Int = 8
        public var connectTimeoutSeconds: Double = 2
        /// Each command's bound: past it the caller takes its fallback instead of waiting.
        public var commandTimeoutSeconds: Double = 1
        /// PEM CA certificates for `rediss://` (a private CA) instead of the system's.
        public var tlsCAFile: String?
        /// Production: accept `redis://` (no TLS) to a host other than loopback.
        public var allowPlaintext: Bool = false
        public init() {}

        /// The URL with its password masked, for reports and logs.
        public var redactedURL: String? {
            url.map { (try? RedisURLShape(parsing: $0).redacted) ?? "****" }
        }
    }

    public struct Cluster: Sendable, Equatable {
        /// How many nodes will serve this deployment; more than one needs shared engines.
        public var nodes: Int = 1
        public init() {}
    }

    public struct Auth: Sendable, Equatable {
        /// An old HS256 key still accepted for verification after a rotation.
        public struct RetiredSecret: Sendable, Equatable {
            public var kid: String
            public var secret: String
            public init(kid: String, secret: String) {
                self.kid = kid
                self.secret = secret
            }
        }

        public enum Algorithm: String, Sendable, CaseIterable { case hs256, es256 }
        public var accessTokenLifetimeSeconds: Int = 900
        public var refreshTokenLifetimeSeconds: Int = 2_592_000
        /// How long a rotated refresh token still yields its rotation's pair (parallel refreshes).
        public var refreshReuseGraceSeconds: Int = 10
        public var issuer: String = "swiftlet"
        public var audience: String = "swiftlet-miniprogram"
        public var clockLeewaySeconds: Int = 30
        public var jwtAlgorithm: Algorithm = .hs256
        /// HS256 secret. Nil outside production: one is generated under `dataDirectory`.
        public var jwtSecret: String?
        public var jwtKeyID: String = "k1"
        /// `kid=secret` pairs still accepted for verification after a rotation.
        public var jwtRetiredSecrets: [RetiredSecret] = []
        /// ES256 private key (PEM). Nil outside production: one is generated under `dataDirectory`.
        public var jwtPrivateKeyFile: String?
        public init() {}

    }

    public struct WeChat: Sendable, Equatable {
        /// The sandbox's default app; production refuses it.
        public static let sandboxAppID = "wx00000000sandbox"
        public static let sandboxAppSecret = "sandbox-app-secret-not-for-production"
        public var appID: String = sandboxAppID
        public var appSecret: String?
        /// Nil: the embedded sandbox when `sandbox` is on, else `https://api.weixin.qq.com`.
        public var apiBaseURL: String?
        public var timeoutSeconds: Double = 5
        /// Mount the WeChat sandbox under `/sandbox/wechat` (development and test only).
        public var sandbox: Bool = true
        public init() {}

        /// The secret to use: the configured one, or the sandbox's when it is on.
        public var effectiveAppSecret: String? {
            appSecret ?? (sandbox ? Self.sandboxAppSecret : nil)
        }
    }

    public struct Commerce: Sendable, Equatable {
        /// How long a buyer has to pay; then the order is closed (after asking WeChat).
        public var unpaidTimeoutSeconds: Double = 900
        public var maxQuantityPerItem: Int = 99
        /// With Redis: how often each node compares Redis's flash-sale units and holders
        /// with the database's and repairs the difference (a crash between reserving and
        /// persisting, a cancelled order, an admin's stock change).
        public var flashSaleReconcileSeconds: Double = 5
        /// With Redis: a flash-sale reservation not persisted or given back after this long
        /// is taken to belong to a node that stopped, and is undone by reconciliation.
        public var flashSaleReservationGraceSeconds: Double = 10
        /// Seed a small demo catalogue into an empty database (development default).
        public var demoCatalogue: Bool = true
        public init() {}
    }

    public struct Cache: Sendable, Equatable {
        /// How long this node serves a user row from memory; 0 turns the cache off.
        /// Writes through this node are seen at once, other nodes' after at most this long.
        public var userLifetimeSeconds: Double = 2
        /// How long this node serves a catalogue page or product detail from memory (and
        /// so how old the stock it shows may be); 0 turns the cache off. Admin edits are
        /// seen at once on every node (the cluster bus); stock never decides a sale.
        public var catalogueLifetimeSeconds: Double = 1
        public init() {}
    }

    /// The realtime gateway (`GET /api/v1/realtime`), the inbox and direct messages.
    public struct Realtime: Sendable, Equatable {
        public var pingIntervalSeconds: Double = 25
        public var authTimeoutSeconds: Double = 10
        public var tokenGraceSeconds: Double = 30
        public var maxQueuedBytes: Int = 1 << 20
        public var maxFrameBytes: Int = 64 << 10
        public var maxConnectionsPerUser: Int = 16
        public var maxConnectionsPerNode: Int = 100_000
        /// Inbox retention: messages older than this, or beyond the newest `inboxMaxMessages`, go.
        public var inboxRetentionSeconds: Double = 30 * 86_400
        public var inboxMaxMessages: Int = 1_000
        public var messagesPerMinute: Int = 60
        public var maxMessageCharacters: Int = 2_000
        /// Messages kept per room (older ones go; a resume from before them gets a reset).
        public var roomHistory: Int = 500
        public var roomMaxMembers: Int = 10_000
        public init() {}
    }

    /// WeChat subscribe messages (docs/events.md#wechat-subscribe-messages).
    public struct Subscribe: Sendable, Equatable {
        public enum State: String, Sendable, CaseIterable { case developer, trial, formal }
        /// The event → template mappings, as JSON (an array of objects; see the docs).
        public var templatesJSON: String = "[]"
        /// Which version of the mini-program a tap opens; nil: `formal` in production,
        /// `developer` otherwise.
        public var miniprogramState: State?
        public var lang: String = "zh_CN"
        /// Calls to WeChat for one message before it is given up.
        public var maxAttempts: Int = 6
        public init() {}
    }

    /// Outbound webhooks (docs/events.md).
    /// Signed requests from client apps (docs/security.md, "Signed requests").
    public struct Signing: Sendable, Equatable {
        /// How far a request's timestamp may be from the server's time, either way.
        public var windowSeconds: Double = 300
        /// After a key's rotation, how long its old secret keeps verifying.
        public var secretOverlapSeconds: Double = 86_400
        /// Which routes require, accept or ignore signatures; the first match decides, and
        /// routes no rule matches are `off`.
        public var routes: [RouteRule] = []
        public init() {}

        public struct RouteRule: Sendable, Equatable {
            /// A route template, or a prefix of templates ending in `*`.
            public var pattern: String
            public var requirement: Requirement

            public init(pattern: String, requirement: Requirement) {
                self.pattern = pattern
                self.requirement = requirement
            }
        }

        public enum Requirement: String, Sendable, CaseIterable {
            case required, optional, off
        }
    }

    public struct Webhooks: Sendable, Equatable {
        /// Whether this node dispatches and delivers webhooks (any number of nodes may).
        public var deliver: Bool = true
        public var attemptTimeoutSeconds: Double = 15
        /// How long a node holds a message it is delivering; a node that died gives it up
        /// after this (then another node tries again). Longer than an attempt.
        public var leaseSeconds: Double = 60
        /// Delays before each retry; their count + 1 is the attempts a message gets.
        public var retryDelaysSeconds: [Double] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000]
        /// Each delay is spread by this fraction either way.
        public var retryJitter: Double = 0.2
        /// An endpoint failing continuously this long is disabled.
        public var disableAfterSeconds: Double = 5 * 86_400
        /// How long a rotated-out secret keeps signing next to the new one.
        public var secretOverlapSeconds: Double = 86_400
        /// Hosts, addresses and CIDRs that may receive webhooks although private (internal receivers).
        public var allowList: [String] = []
        public var pollIntervalSeconds: Double = 0.1
        public var concurrency: Int = 32
        /// Delivered and dead messages (with their attempts) older than this are deleted daily.
        public var retentionSeconds: Double = 30 * 86_400
        public init() {}
    }

    public struct Jobs: Sendable, Equatable {
        public var pollIntervalSeconds: Double = 1
        /// How long a node holds a job before another node may take it over.
        public var leaseSeconds: Double = 60
        public init() {}
    }

    public struct WeChatPay: Sendable, Equatable {
        public static let productionBaseURL = "https://api.mch.weixin.qq.com"
        /// WeChat's notify retry delays (seconds): 15 s … 6 h, 15 retries over ~24 h.
        public static let wechatRetrySchedule: [Double] = [15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600]
        /// Nil: the embedded sandbox when `wechat.sandbox` is on, else WeChat Pay's host.
        public var baseURL: String?
        /// Set for real WeChat Pay; nil with the sandbox on means the sandbox merchant.
        public var mchID: String?
        public var merchantSerialNumber: String?
        public var merchantPrivateKeyFile: String?
        public var apiV3Key: String?
        public var publicKeyID: String?
        public var publicKeyFile: String?
        public var platformCertificateFiles: [String] = []
        /// Where WeChat Pay sends notifications (https, no query string, in production).
        public var notifyURL: String?
        public var timeoutSeconds: Double = 10
        /// The sandbox's notify retry delays; tests shorten them.
        public var sandboxRetrySchedule: [Double] = wechatRetrySchedule
        /// Which key the sandbox merchant has WeChat Pay sign with (as a merchant sets it on
        /// the merchant platform); the embedded client is configured to match.
        public var sandboxKeyMode: SandboxKeyMode = .certificate
        /// In `migrating` mode, how long notifies take to move from all certificate-signed
        /// to all public-key-signed (WeChat: about 7 days).
        public var sandboxMigrationSeconds: Double = 7 * 86_400
        public init() {}

        /// The sandbox merchant's verification key mode.
        public enum SandboxKeyMode: String, Sendable, CaseIterable {
            case certificate
            case publicKey
            case migrating
        }

        /// Whether a real merchant is configured (as opposed to the sandbox merchant).
        public var isConfigured: Bool { mchID != nil }
    }

    public var profile: Profile = .development
    /// Mount `/plaintext`, `/json`, `/user/{id}` for the benchmark harness.
    public var benchEndpoints: Bool = false
    /// Where generated development secrets (and, by default, the SQLite file) live.
    public var dataDirectory: String = "./data"
    public var auth = Auth()
    public var wechat = WeChat()
    public var http = HTTP()
    public var log = Log()
    public var storage = Storage()
    public var redis = Redis()
    public var cluster = Cluster()
    public var commerce = Commerce()
    public var jobs = Jobs()
    public var cache = Cache()
    public var realtime = Realtime()
    public var webhooks = Webhooks()
    public var signing = Signing()
    public var rateLimits = RateLimits()
    public var shedding = Shedding()
    public var proxy = Proxy()
    public var metrics = Metrics()
    public var tracing = Tracing()
    public var subscribe = Subscribe()
    public var wechatPay = WeChatPay()

    public init() {}
}
