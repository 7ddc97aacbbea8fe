/// Every configuration key, its environment variable, default and meaning.
///
/// One list drives `config check` output and a test that keeps `docs/configuration.md`
/// complete, so a key cannot be added without being documented.
public struct ConfigKeyInfo: Sendable {
    public let key: String
    public let type: String
    public let defaultValue: String
    public let summary: String
    public let isSecret: Bool

    /// `http.maxBodySize` → `SWIFTLET_HTTP_MAX_BODY_SIZE`.
    public var environmentName: String {
        var name = "SWIFTLET_"
        var previousWasLower = false
        for character in key {
            if character == "." {
                name.append("_")
                previousWasLower = false
            } else if character.isUppercase, previousWasLower {
                name.append("_")
                name.append(contentsOf: character.uppercased())
                previousWasLower = false
            } else {
                name.append(contentsOf: character.uppercased())
                previousWasLower = character.isLowercase || character.isNumber
            }
        }
        return name
    }
}

public enum ConfigKeys {
    public static let all: [ConfigKeyInfo] = [
        .init(key: "profile", type: "development | test | production", defaultValue: "development",
              summary: "Selects defaults and safety checks; production refuses unsafe settings.", isSecret: false),
        .init(key: "http.host", type: "string", defaultValue: "127.0.0.1", summary: "Address to listen on.", isSecret: false),
        .init(key: "http.port", type: "integer 0–65535", defaultValue: "8080", summary: "Port to listen on (0 picks a free port).", isSecret: false),
        .init(key: "http.backlog", type: "integer 16–65535", defaultValue: "1024",
              summary: "Accept queue length; bursts larger than this wait for SYN retries (the kernel caps it at net.core.somaxconn).", isSecret: false),
        .init(key: "http.maxBodySize", type: "integer bytes ≥ 1024", defaultValue: "1048576",
              summary: "Largest request body; larger ones get 413 `request.body_too_large`.", isSecret: false),
        .init(key: "http.idleTimeout", type: "seconds > 0", defaultValue: "60",
              summary: "Keep-alive connection closed after this long without a new request.", isSecret: false),
        .init(key: "http.headerTimeout", type: "seconds > 0", defaultValue: "10",
              summary: "A started request head must be complete within this time (slowloris bound).", isSecret: false),
        .init(key: "http.bodyTimeout", type: "seconds > 0", defaultValue: "30",
              summary: "A request body must be complete within this time after its head.", isSecret: false),
        .init(key: "http.shutdownTimeout", type: "seconds > 0", defaultValue: "25",
              summary: "On SIGTERM/SIGINT, how long requests in flight may take before connections are closed.", isSecret: false),
        .init(key: "http.inlineRoutes", type: "boolean", defaultValue: "true",
              summary: "Answer I/O-free reads (health, cached GET /api/v1/me) on the event loop instead of through the router.", isSecret: false),
        .init(key: "http.tls.certificateFile", type: "file path", defaultValue: "(none)",
              summary: "PEM certificate chain (leaf first); with `http.tls.keyFile` the server speaks HTTPS only.", isSecret: false),
        .init(key: "http.tls.keyFile", type: "file path", defaultValue: "(none)",
              summary: "PEM private key of the certificate.", isSecret: false),
        .init(key: "http.tls.minimumVersion", type: "1.2 | 1.3", defaultValue: "1.3",
              summary: "Oldest TLS version accepted.", isSecret: false),
        .init(key: "http.tls.clientCaFile", type: "file path", defaultValue: "(none)",
              summary: "PEM CA certificates for client certificates (mTLS); a presented certificate must chain to one of them.", isSecret: false),
        .init(key: "http.tls.requireClientCertificateForAdmin", type: "boolean", defaultValue: "true",
              summary: "With `http.tls.clientCaFile`: `/admin/v1` answers 403 `admin.client_certificate_required` without a verified client certificate.", isSecret: false),
        .init(key: "log.level", type: "trace | debug | info | notice | warning | error | critical", defaultValue: "info",
              summary: "Lowest level written.", isSecret: false),
        .init(key: "log.format", type: "json | text", defaultValue: "json", summary: "One JSON object per line, or plain text.", isSecret: false),
        .init(key: "log.accessLog", type: "boolean", defaultValue: "true", summary: "Write one line per request.", isSecret: false),
        .init(key: "storage.engine", type: "sqlite | postgres", defaultValue: "sqlite", summary: "Where data lives.", isSecret: false),
        .init(key: "storage.autoMigrate", type: "boolean", defaultValue: "false",
              summary: "PostgreSQL: apply pending migrations on `serve`. SQLite always migrates itself.", isSecret: false),
        .init(key: "storage.sqlite.path", type: "file path", defaultValue: "./data/swiftlet.sqlite",
              summary: "SQLite database file; its directory is created if missing.", isSecret: false),
        .init(key: "storage.sqlite.readers", type: "integer 1–64", defaultValue: "4",
              summary: "Read-only connections reading beside the single writer (WAL).", isSecret: false),
        .init(key: "storage.sqlite.busyTimeout", type: "milliseconds 0–600000", defaultValue: "5000",
              summary: "How long a connection waits for a lock held by another process.", isSecret: false),
        .init(key: "storage.sqlite.synchronous", type: "full | normal", defaultValue: "full",
              summary: "`full` fsyncs every commit (survives power loss); `normal` survives process crashes only.", isSecret: false),
        .init(key: "storage.postgres.url", type: "postgres://user[:password]@host[:port]/db[?sslmode=…&sslrootcert=…]",
              defaultValue: "(none)", summary: "Required when storage.engine is postgres. sslmode: disable, prefer, require, verify-ca, verify-full.",
              isSecret: true),
        .init(key: "storage.postgres.poolSize", type: "integer 1–1000", defaultValue: "10",
              summary: "Most connections this node opens.", isSecret: false),
        .init(key: "storage.postgres.connectTimeout", type: "seconds > 0", defaultValue: "5",
              summary: "How long to wait for a new connection.", isSecret: false),
        .init(key: "storage.postgres.leaseTimeout", type: "seconds > 0", defaultValue: "5",
              summary: "How long a request waits for a pooled connection before answering 503 `storage.unavailable` with `Retry-After`.", isSecret: false),
        .init(key: "storage.postgres.allowUnverifiedTLS", type: "boolean", defaultValue: "false",
              summary: "Production: accept a non-loopback PostgreSQL host whose certificate is not fully verified (sslmode other than verify-full; never disable). Logged as a warning at start.",
              isSecret: false),
        .init(key: "redis.url", type: "redis://[user:password@]host[:port][/db] or rediss://… (TLS)", defaultValue: "(none: state stays in this process)",
              summary: "Redis shared by the nodes: revocations, user cache invalidation, the WeChat access_token. Required in production when cluster.nodes > 1.",
              isSecret: true),
        .init(key: "redis.poolSize", type: "integer 1–256", defaultValue: "8",
              summary: "Most command connections this node opens to Redis (bus subscriptions use their own).", isSecret: false),
        .init(key: "redis.connectTimeout", type: "seconds > 0", defaultValue: "2",
              summary: "How long to wait for a new Redis connection.", isSecret: false),
        .init(key: "redis.commandTimeout", type: "seconds > 0", defaultValue: "1",
              summary: "Upper bound for one Redis command; then the caller takes its documented fallback.", isSecret: false),
        .init(key: "redis.tlsCaFile", type: "file path", defaultValue: "(system trust roots)",
              summary: "PEM CA certificates that sign the Redis server's certificate (rediss:// with a private CA).", isSecret: false),
        .init(key: "redis.allowPlaintext", type: "boolean", defaultValue: "false",
              summary: "Production: accept redis:// without TLS to a host other than loopback (the WeChat access_token and revocations cross the network). Logged as a warning at start.",
              isSecret: false),
        .init(key: "data.directory", type: "directory path", defaultValue: "./data",
              summary: "Where development secrets are generated (outside production) and relative data lives.", isSecret: false),
        .init(key: "auth.accessTokenLifetime", type: "seconds 60–86400", defaultValue: "900", summary: "Access token (JWT) lifetime.", isSecret: false),
        .init(key: "auth.refreshTokenLifetime", type: "seconds 3600–31536000", defaultValue: "2592000",
              summary: "Refresh token lifetime; each refresh starts a new one.", isSecret: false),
        .init(key: "auth.refreshReuseGrace", type: "seconds 0–60", defaultValue: "10",
              summary: "A refresh token presented again this soon after its rotation (parallel requests of one client) gets the same new pair; later reuse revokes the session. 0 turns the grace off.", isSecret: false),
        .init(key: "auth.issuer", type: "string", defaultValue: "swiftlet", summary: "JWT `iss`, checked on every request.", isSecret: false),
        .init(key: "auth.audience", type: "string", defaultValue: "swiftlet-miniprogram", summary: "JWT `aud`, checked on every request.", isSecret: false),
        .init(key: "auth.clockLeeway", type: "seconds 0–300", defaultValue: "30", summary: "Tolerance for `exp`/`nbf`/`iat` between machines.", isSecret: false),
        .init(key: "auth.jwt.algorithm", type: "hs256 | es256", defaultValue: "hs256", summary: "How access tokens are signed.", isSecret: false),
        .init(key: "auth.jwt.secret", type: "string ≥ 32 bytes", defaultValue: "(generated in data.directory outside production)",
              summary: "HS256 signing secret. Required in production with hs256.", isSecret: true),
        .init(key: "auth.jwt.keyId", type: "string", defaultValue: "k1", summary: "`kid` of the signing key; change it when rotating.", isSecret: false),
        .init(key: "auth.jwt.retiredSecrets", type: "kid=secret,kid=secret", defaultValue: "(none)",
              summary: "Old HS256 keys still accepted for verification during a rotation.", isSecret: true),
        .init(key: "auth.jwt.privateKeyFile", type: "PEM file path", defaultValue: "(generated in data.directory outside production)",
              summary: "ES256 private key. Required in production with es256.", isSecret: false),
        .init(key: "wechat.appId", type: "string", defaultValue: "wx00000000sandbox", summary: "Mini-program AppID. Production refuses the sandbox default.", isSecret: false),
        .init(key: "wechat.appSecret", type: "string", defaultValue: "(sandbox secret when wechat.sandbox is on)",
              summary: "Mini-program AppSecret. Required when the sandbox is off.", isSecret: true),
        .init(key: "wechat.apiBaseUrl", type: "URL", defaultValue: "(embedded sandbox, or https://api.weixin.qq.com when the sandbox is off)",
              summary: "Where the WeChat API is. Point it at any server speaking WeChat's protocol.", isSecret: false),
        .init(key: "wechat.timeout", type: "seconds > 0", defaultValue: "5", summary: "Upper bound for one WeChat call.", isSecret: false),
        .init(key: "wechat.sandbox", type: "boolean", defaultValue: "true (false in production)",
              summary: "Mount the WeChat sandbox under /sandbox/wechat. Production refuses it.", isSecret: false),
        .init(key: "wechatpay.baseUrl", type: "URL", defaultValue: "(embedded sandbox, or https://api.mch.weixin.qq.com with a real merchant)",
              summary: "Where the WeChat Pay API v3 is. Point it at any server speaking its protocol.", isSecret: false),
        .init(key: "wechatpay.mchId", type: "string", defaultValue: "(sandbox merchant when wechat.sandbox is on)",
              summary: "Merchant id. Setting it switches from the sandbox merchant to real WeChat Pay and makes the keys below required.", isSecret: false),
        .init(key: "wechatpay.merchantSerialNumber", type: "hex string", defaultValue: "(none)",
              summary: "Serial number of the merchant API certificate (apiclient_cert.pem).", isSecret: false),
        .init(key: "wechatpay.merchantPrivateKeyFile", type: "PEM file path", defaultValue: "(none)",
              summary: "Merchant API private key (apiclient_key.pem); signs requests and paySign.", isSecret: false),
        .init(key: "wechatpay.apiV3Key", type: "32 ASCII characters", defaultValue: "(none)",
              summary: "APIv3 key; decrypts notifications and platform certificates.", isSecret: true),
        .init(key: "wechatpay.publicKeyId", type: "PUB_KEY_ID_…", defaultValue: "(none)",
              summary: "Id of the WeChat Pay public key (public-key mode).", isSecret: false),
        .init(key: "wechatpay.publicKeyFile", type: "PEM file path", defaultValue: "(none)",
              summary: "WeChat Pay public key (public-key mode). Needs wechatpay.publicKeyId.", isSecret: false),
        .init(key: "wechatpay.platformCertificateFiles", type: "PEM file paths, comma-separated", defaultValue: "(none)",
              summary: "Platform certificates (certificate mode); unknown serials are downloaded from /v3/certificates.", isSecret: false),
        .init(key: "wechatpay.notifyUrl", type: "https URL without query", defaultValue: "(this server's /api/v1/pay/wechat/notify with the sandbox)",
              summary: "Where WeChat Pay sends payment and refund notifications. Required with a real merchant.", isSecret: false),
        .init(key: "wechatpay.timeout", type: "seconds > 0", defaultValue: "10", summary: "Upper bound for one WeChat Pay call.", isSecret: false),
        .init(key: "wechatpay.sandboxRetrySchedule", type: "seconds, comma-separated", defaultValue: "15,15,30,180,600,1200,1800,1800,1800,3600,10800,10800,10800,21600,21600",
              summary: "Delays between the sandbox's notify retries (WeChat's schedule by default; shorten for tests).", isSecret: false),
        .init(key: "commerce.unpaidTimeout", type: "seconds > 0", defaultValue: "900",
              summary: "Time to pay an order; then it is closed at WeChat (after a query) and its stock released.", isSecret: false),
        .init(key: "commerce.maxQuantityPerItem", type: "integer 1–10000", defaultValue: "99", summary: "Largest quantity of one SKU in an order.", isSecret: false),
        .init(key: "commerce.demoCatalogue", type: "boolean", defaultValue: "true in development, else false",
              summary: "Seed a few demo products into an empty catalogue at start.", isSecret: false),
        .init(key: "jobs.pollInterval", type: "seconds > 0", defaultValue: "1",
              summary: "How often each node looks for due background jobs (order timeouts, refund follow-ups).", isSecret: false),
        .init(key: "jobs.lease", type: "seconds > 0", defaultValue: "60",
              summary: "How long a node holds a job; a job held by a node that died is retried after this.", isSecret: false),
        .init(key: "cache.userLifetime", type: "seconds 0–3600", defaultValue: "2",
              summary: "How long a node serves a user row from memory (0: off). Own writes show at once; other nodes' within this time.",
              isSecret: false),
        .init(key: "realtime.pingInterval", type: "seconds > 0", defaultValue: "25",
              summary: "How often the realtime gateway pings each socket; a client silent for two intervals is closed (4002).", isSecret: false),
        .init(key: "realtime.authTimeout", type: "seconds > 0", defaultValue: "10",
              summary: "Time a socket opened without a token has to send its auth frame (else 4500).", isSecret: false),
        .init(key: "realtime.tokenGrace", type: "seconds > 0", defaultValue: "30",
              summary: "After token_expired, time to send a fresh token in a frame before the close (4501).", isSecret: false),
        .init(key: "realtime.maxQueuedBytes", type: "integer 4096–268435456", defaultValue: "1048576",
              summary: "Bytes a socket may have waiting for the client to read; past it the client is closed as slow (4001) and resumes with since.",
              isSecret: false),
        .init(key: "realtime.maxFrameBytes", type: "integer 1024–16777216", defaultValue: "65536",
              summary: "Largest frame (fragments reassembled) a client may send; larger closes with 1009.", isSecret: false),
        .init(key: "realtime.maxConnectionsPerUser", type: "integer 1–10000", defaultValue: "16",
              summary: "Realtime sockets one user may hold on one node (429 realtime.too_many_connections past it).", isSecret: false),
        .init(key: "realtime.maxConnectionsPerNode", type: "integer ≥ 1", defaultValue: "100000",
              summary: "Realtime sockets one node holds (503 realtime.node_full past it, with Retry-After).", isSecret: false),
        .init(key: "realtime.inboxRetention", type: "seconds > 0", defaultValue: "2592000 (30 days)",
              summary: "Inbox messages older than this are removed; a resume from before them gets an explicit reset.", isSecret: false),
        .init(key: "realtime.inboxMaxMessages", type: "integer 10–1000000", defaultValue: "1000",
              summary: "Messages kept per user inbox; older ones are removed (a resume from before them gets a reset).", isSecret: false),
        .init(key: "realtime.messagesPerMinute", type: "integer 1–100000", defaultValue: "60",
              summary: "Direct messages one user may send per minute, over all nodes (429 messages.rate_limited past it).", isSecret: false),
        .init(key: "realtime.maxMessageCharacters", type: "integer 1–100000", defaultValue: "2000",
              summary: "Longest direct message text, in characters.", isSecret: false),
        .init(key: "realtime.roomHistory", type: "integer 10–1000000", defaultValue: "500",
              summary: "Messages kept per room; a resume from before them gets a room_reset.", isSecret: false),
        .init(key: "realtime.roomMaxMembers", type: "integer 2–1000000", defaultValue: "10000",
              summary: "Members one room may have (409 rooms.full past it).", isSecret: false),
        .init(key: "bench.endpoints", type: "boolean", defaultValue: "false",
              summary: "Mount /plaintext, /json and /user/{id} (the benchmark endpoints) behind the full request path.", isSecret: false),
        .init(key: "cluster.nodes", type: "integer ≥ 1", defaultValue: "1",
              summary: "Nodes serving this deployment. Production refuses SQLite, or no redis.url, when more than one.", isSecret: false),
    ]

    public static func info(_ key: String) -> ConfigKeyInfo? {
        all.first { $0.key == key }
    }
}
