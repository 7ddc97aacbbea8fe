import Foundation
import SwiftletConfig
import Testing

@Suite("Redis configuration")
struct RedisConfigurationTests {
    func load(env: [String: String]) async throws -> SwiftletConfiguration {
        try await ConfigurationLoader.load(ConfigurationSources(environment: env))
    }

    func problems(env: [String: String]) async -> [ConfigurationError.Problem] {
        do {
            _ = try await ConfigurationLoader.load(ConfigurationSources(environment: env))
            return []
        } catch {
            return error.problems
        }
    }

    /// A production cluster on PostgreSQL that passes every check but the Redis one.
    static let productionCluster = ConfigurationTests.production.merging([
        "SWIFTLET_STORAGE_ENGINE": "postgres",
        "SWIFTLET_STORAGE_POSTGRES_URL": "postgres://app:pw@127.0.0.1/app?sslmode=disable",
        "SWIFTLET_CLUSTER_NODES": "3",
    ]) { _, new in new }

    @Test func defaultsKeepStateInProcess() async throws {
        let config = try await load(env: [:])
        #expect(config.redis.url == nil)
        #expect(config.redis.poolSize == 8)
        #expect(config.redis.connectTimeoutSeconds == 2)
        #expect(config.redis.commandTimeoutSeconds == 1)
        #expect(config.cluster.nodes == 1)
    }

    @Test func everyKeyIsParsed() async throws {
        let config = try await load(env: [
            "SWIFTLET_REDIS_URL": "rediss://app:s3cret@redis.internal:6380/2",
            "SWIFTLET_REDIS_POOL_SIZE": "32",
            "SWIFTLET_REDIS_CONNECT_TIMEOUT": "0.5",
            "SWIFTLET_REDIS_COMMAND_TIMEOUT": "0.25",
            "SWIFTLET_CLUSTER_NODES": "3",
        ])
        #expect(config.redis.url == "rediss://app:s3cret@redis.internal:6380/2")
        #expect(config.redis.poolSize == 32)
        #expect(config.redis.connectTimeoutSeconds == 0.5)
        #expect(config.redis.commandTimeoutSeconds == 0.25)
        #expect(config.cluster.nodes == 3)
    }

    @Test func urlShapesAreUnderstood() throws {
        let plain = try RedisURLShape(parsing: "redis://127.0.0.1")
        #expect(!plain.usesTLS && plain.host == "127.0.0.1" && plain.port == nil && plain.database == 0)
        let full = try RedisURLShape(parsing: "rediss://user:pw@[::1]:6380/15")
        #expect(full.usesTLS && full.host == "[::1]" && full.port == 6380 && full.database == 15)
        #expect(full.percentEncodedUser == "user" && full.hasPassword)
        let passwordOnly = try RedisURLShape(parsing: "redis://:pw@cache/")
        #expect(passwordOnly.percentEncodedUser == nil && passwordOnly.hasPassword && passwordOnly.database == 0)
    }

    @Test(arguments: [
        ("http://redis.internal", "expected redis://"),
        ("redis.internal:6379", "expected redis://"),
        ("redis://", "a host is required"),
        ("redis:///0", "a host is required"),
        ("redis://h:0", "port must be from 1 to 65535, got 0"),
        ("redis://h:70000", "port must be from 1 to 65535, got 70000"),
        ("redis://h:port", "expected redis://"),
        ("redis://h/-1", "non-negative integer, got \"-1\""),
        ("redis://h/zero", "non-negative integer, got \"zero\""),
        ("redis://h/1?tls=true", "query parameters"),
    ])
    func badURLsAreNamedWithTheirKey(url: String, reason: String) async {
        let found = await problems(env: ["SWIFTLET_REDIS_URL": url])
        #expect(found.map(\.key) == ["redis.url"], "\(url)")
        let text = found.first?.description ?? ""
        #expect(text.contains("SWIFTLET_REDIS_URL"), "\(text)")
        #expect(text.contains(reason), "\(url): \(text)")
    }

    @Test func badNumbersAreNamed() async {
        let found = await problems(env: [
            "SWIFTLET_REDIS_POOL_SIZE": "0",
            "SWIFTLET_REDIS_CONNECT_TIMEOUT": "-1",
            "SWIFTLET_REDIS_COMMAND_TIMEOUT": "soon",
            "SWIFTLET_CLUSTER_NODES": "0",
        ])
        #expect(Set(found.map(\.key)) == ["redis.poolSize", "redis.connectTimeout", "redis.commandTimeout", "cluster.nodes"])
        #expect(found.first { $0.key == "redis.poolSize" }?.description.contains("SWIFTLET_REDIS_POOL_SIZE") == true)
        #expect(await problems(env: ["SWIFTLET_REDIS_POOL_SIZE": "257"]).map(\.key) == ["redis.poolSize"])
    }

    @Test func thePasswordIsMaskedInTheReport() async throws {
        let config = try await load(env: ["SWIFTLET_REDIS_URL": "redis://app:hunter2-redis@10.0.0.5:6379/3"])
        let report = config.maskedEntries.map { "\($0.key)=\($0.value)" }.joined(separator: "\n")
        #expect(!report.contains("hunter2-redis"))
        #expect(report.contains("redis.url=redis://app:****@10.0.0.5:6379/3"))
        #expect(try await load(env: ["SWIFTLET_REDIS_URL": "rediss://:pw@cache"]).redis.redactedURL == "rediss://:****@cache")
        #expect(try await load(env: ["SWIFTLET_REDIS_URL": "redis://cache:6379"]).redis.redactedURL == "redis://cache:6379")
        #expect(try await load(env: [:]).maskedEntries.contains { $0.key == "redis.url" && $0.value == "(none)" })
    }

    @Test func productionRefusesSeveralNodesWithoutRedis() async {
        let found = await problems(env: Self.productionCluster)
        #expect(found.map(\.key) == ["redis.url"])
        let text = found.first?.description ?? ""
        #expect(text.contains("SWIFTLET_REDIS_URL") && text.contains("cluster.nodes is 3"), "\(text)")
        let withRedis = Self.productionCluster.merging(["SWIFTLET_REDIS_URL": "rediss://:pw@redis.internal"]) { _, new in new }
        #expect(await problems(env: withRedis).isEmpty)
        let oneNode = Self.productionCluster.merging(["SWIFTLET_CLUSTER_NODES": "1"]) { _, new in new }
        #expect(await problems(env: oneNode).isEmpty)
        let development = ["SWIFTLET_CLUSTER_NODES": "3"]
        #expect(await problems(env: development).isEmpty)
    }

    @Test func productionRefusesPlaintextRedisToAnotherHost() async throws {
        let plain = Self.productionCluster.merging(["SWIFTLET_REDIS_URL": "redis://:pw@redis.internal"]) { _, new in new }
        let found = await problems(env: plain)
        #expect(found.map(\.key) == ["redis.url"])
        #expect(found.first?.description.contains("rediss://") == true)
        let accepted = plain.merging(["SWIFTLET_REDIS_ALLOW_PLAINTEXT": "true"]) { _, new in new }
        #expect(await problems(env: accepted).isEmpty)
        let loopback = Self.productionCluster.merging(["SWIFTLET_REDIS_URL": "redis://127.0.0.1:6379"]) { _, new in new }
        #expect(await problems(env: loopback).isEmpty, "TLS protects nothing on loopback")
        #expect(await problems(env: ["SWIFTLET_REDIS_URL": "redis://redis.internal"]).isEmpty, "development accepts it")
    }

    @Test func aCAFileNeedsTLSAndAReadableFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let ca = directory.path + "/ca.pem"
        try "-----BEGIN CERTIFICATE-----\n".write(toFile: ca, atomically: true, encoding: .utf8)
        let config = try await load(env: ["SWIFTLET_REDIS_URL": "rediss://cache", "SWIFTLET_REDIS_TLS_CA_FILE": ca])
        #expect(config.redis.tlsCAFile == ca)
        #expect(await problems(env: ["SWIFTLET_REDIS_URL": "redis://cache", "SWIFTLET_REDIS_TLS_CA_FILE": ca]).map(\.key) == ["redis.tlsCaFile"])
        #expect(await problems(env: ["SWIFTLET_REDIS_URL": "rediss://cache", "SWIFTLET_REDIS_TLS_CA_FILE": ca + ".missing"]).map(\.key) == ["redis.tlsCaFile"])
    }
}
