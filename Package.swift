// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "swiftlet",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "swiftlet", targets: ["SwiftletCLI"]),
        .library(name: "SwiftletServer", targets: ["SwiftletServer"]),
        .library(name: "SwiftletCore", targets: ["SwiftletCore"]),
        .executable(name: "swiftlet-redis-bench", targets: ["SwiftletRedisBench"]),
        .executable(name: "swiftlet-breaker-bench", targets: ["SwiftletBreakerBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: [.defaults, "YAML"]),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        // Traces only, over OTLP/HTTP: the gRPC exporter's packages are not built.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // Domain core: models, errors, ports, services. No server or database imports.
        .target(
            name: "SwiftletCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        // Leaf: WeChat mini-program API client, usable on its own (its calls go through a
        // breaker from SwiftletResilience, itself a leaf of the standard library).
        .target(
            name: "SwiftletOutboundTelemetry",
            dependencies: [
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SwiftletWeChat",
            dependencies: [
                "SwiftletResilience", "SwiftletOutboundTelemetry",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Leaf: WeChat Pay API v3 client (signing, verification, AES-256-GCM), usable on its own
        // (its calls go through a breaker from SwiftletResilience).
        .target(
            name: "SwiftletWeChatPay",
            dependencies: [
                "SwiftletResilience", "SwiftletOutboundTelemetry",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Leaf: a task executor that runs jobs on one NIO event loop (used by the Redis and
        // PostgreSQL clients to work where their connection lives).
        .target(
            name: "SwiftletEventLoopExecutor",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        // Leaf: a Redis client on SwiftNIO (RESP2/RESP3, pool, pipelining, pub/sub, Lua, TLS).
        .target(
            name: "SwiftletRedis",
            dependencies: [
                "SwiftletEventLoopExecutor",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Leaf: resilience primitives, pure and clock-injected (GCRA rate limiting, adaptive
        // client-side throttling, retry budget, adaptive concurrency limit), and the breaker
        // that puts a throttle and a budget in front of each outbound dependency.
        .target(
            name: "SwiftletResilience",
            swiftSettings: swiftSettings
        ),
        // Leaf: outbound webhooks' reusable parts: Standard Webhooks secrets, signing and
        // verification, the SSRF policy for endpoint URLs, the retry schedule.
        .target(
            name: "SwiftletWebhooks",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Webhook delivery: the worker that dispatches outbox events into messages and
        // sends them signed over HTTP, and the pure attempt policy.
        .target(
            name: "SwiftletWebhookDelivery",
            dependencies: [
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                "SwiftletCore", "SwiftletWebhooks", "SwiftletResilience",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The core's ClusterState port on Redis, for deployments of several nodes.
        .target(
            name: "SwiftletClusterRedis",
            dependencies: ["SwiftletCore", "SwiftletRedis", .product(name: "NIOCore", package: "swift-nio"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // Access tokens (JWT) implementing the core's AccessTokenCodec port.
        .target(
            name: "SwiftletTokens",
            dependencies: ["SwiftletCore", .product(name: "JWTKit", package: "jwt-kit")],
            swiftSettings: swiftSettings
        ),
        // The built-in fake of the WeChat servers, mounted in development and tests.
        .target(
            name: "SwiftletSandbox",
            dependencies: [
                "SwiftletCore", "SwiftletHTTP", "SwiftletTransport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        // Leaf: versioned-migration planning and checksums, engine-agnostic.
        .target(
            name: "SwiftletMigrations",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // Repositories written once against SQLKit, shared by both engines.
        .target(
            name: "SwiftletSQLStorage",
            dependencies: [
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                "SwiftletCore", "SwiftletMigrations",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SwiftletSQLite",
            dependencies: [
                "SwiftletCore", "SwiftletMigrations", "SwiftletSQLStorage",
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Leaf: the postgres:// URL (sslmode, loopback check, redaction), read by config and the engine.
        .target(
            name: "SwiftletPostgresURL",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SwiftletPostgres",
            dependencies: [
                "SwiftletCore", "SwiftletMigrations", "SwiftletSQLStorage", "SwiftletPostgresURL", "SwiftletEventLoopExecutor",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SwiftletConfig",
            dependencies: [
                "SwiftletPostgresURL",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        // The request path: server channel, connection deadlines, backpressure, TLS, the inline
        // lane, the request seam, request ids and the one error mapping.
        .target(
            name: "SwiftletTransport",
            dependencies: [
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                "SwiftletCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The API: routes, their DTOs, auth middleware and the OpenAPI document.
        .target(
            name: "SwiftletHTTP",
            dependencies: [
                "SwiftletCore", "SwiftletTransport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The one composition root: buildApplication(config).
        // The realtime gateway: WebSocket connections (auth, heartbeats, exact inbox resume,
        // backpressure) over the core's inbox and fan-out, switched to by the transport's
        // upgrade lane.
        .target(
            name: "SwiftletRealtime",
            dependencies: [
                .product(name: "CoreMetrics", package: "swift-metrics"),
                "SwiftletCore", "SwiftletTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SwiftletServer",
            dependencies: [
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "OTel", package: "swift-otel"),
                "SwiftletCore", "SwiftletConfig", "SwiftletHTTP", "SwiftletTransport", "SwiftletOutboundTelemetry", "SwiftletSQLite", "SwiftletPostgres", "SwiftletPostgresURL",
                "SwiftletSQLStorage", "SwiftletMigrations", "SwiftletWeChat", "SwiftletWeChatPay", "SwiftletTokens", "SwiftletSandbox",
                "SwiftletRedis", "SwiftletClusterRedis", "SwiftletRealtime", "SwiftletWebhooks", "SwiftletWebhookDelivery",
                "SwiftletResilience",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // bench/breaker.sh: time for a breaker to stop calling a dead dependency and to
        // resume once it is back, from a deterministic simulation over the real breaker.
        .executableTarget(
            name: "SwiftletBreakerBench",
            dependencies: ["SwiftletResilience"],
            swiftSettings: swiftSettings
        ),
        // bench/cluster.sh: the Redis client measured beside redis-benchmark.
        .executableTarget(
            name: "SwiftletRedisBench",
            dependencies: ["SwiftletRedis"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "SwiftletCLI",
            dependencies: [
                "SwiftletServer", "SwiftletConfig", "SwiftletMigrations", "SwiftletCore", "SwiftletHTTP", "SwiftletSandbox",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings,
            linkerSettings: [.unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"], .when(platforms: [.linux]))]
        ),
        .testTarget(
            name: "SwiftletTests",
            dependencies: [
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                "SwiftletServer", "SwiftletCore", "SwiftletConfig", "SwiftletHTTP", "SwiftletTransport",
                "SwiftletSQLite", "SwiftletPostgres", "SwiftletPostgresURL", "SwiftletSQLStorage", "SwiftletMigrations",
                "SwiftletWeChat", "SwiftletWeChatPay", "SwiftletTokens", "SwiftletSandbox",
                "SwiftletRedis", "SwiftletClusterRedis", "SwiftletResilience", "SwiftletRealtime", "SwiftletWebhooks",
                "SwiftletWebhookDelivery",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            exclude: ["Resources"],
            swiftSettings: swiftSettings
        ),
    ]
)
