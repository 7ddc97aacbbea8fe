import Foundation
import SwiftletConfig
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    func load(file: String? = nil, env: [String: String] = [:], flags: [String: String] = [:]) async throws -> SwiftletConfiguration {
        try await ConfigurationLoader.load(ConfigurationSources(filePath: file, environment: env, overrides: flags))
    }

    func problems(file: String? = nil, env: [String: String] = [:], flags: [String: String] = [:]) async -> [ConfigurationError.Problem] {
        do {
            _ = try await ConfigurationLoader.load(ConfigurationSources(filePath: file, environment: env, overrides: flags))
            return []
        } catch {
            return error.problems
        }
    }

    func writeFile(_ name: String, _ contents: String) throws -> (path: String, directory: TemporaryDirectory) {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/" + name
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return (path, directory)
    }

    @Test("every documented environment variable is the one that is read")
    func everyDocumentedEnvironmentNameIsRead() async throws {
        let defaults = try await load()
        for info in ConfigKeys.all {
            let value = info.key == "wechatpay.apiV3Key" ? String(repeating: "k", count: 32) : "7"
            let reached = await problems(env: [info.environmentName: value]).contains { $0.key == info.key }
            let changed = (try? await load(env: [info.environmentName: value])).map { $0 != defaults } ?? true
            #expect(reached || changed, "\(info.environmentName) did not reach \(info.key)")
        }
        let key = String(repeating: "a", count: 32)
        #expect(try await load(env: ["SWIFTLET_WECHATPAY_API_V3_KEY": key]).wechatPay.apiV3Key == key)
    }

    @Test func defaultsNeedNoConfiguration() async throws {
        let config = try await load()
        // What the loaded development profile adds to a configuration built in code: the
        // keyless metrics listener on loopback and every trace sampled (tracing is off).
        var expected = SwiftletConfiguration()
        expected.metrics.listen = SwiftletConfiguration.Metrics.defaultListen
        expected.tracing.sampleRatio = 1
        #expect(config == expected)
        #expect(config.profile == .development)
        #expect(config.storage.engine == .sqlite)
        #expect(config.storage.sqlitePath == "./data/swiftlet.sqlite")
        #expect(config.http.port == 8080)
    }

    @Test func precedenceIsDefaultsFileEnvironmentFlags() async throws {
        let file = try writeFile("swiftlet.yaml", """
            http:
              port: 9000
              host: 0.0.0.0
              maxBodySize: 2048
            storage:
              sqlite:
                busyTimeout: 100
            """)
        defer { file.directory.remove() }
        let fromFile = try await load(file: file.path)
        #expect(fromFile.http.port == 9000)
        #expect(fromFile.http.maxBodyBytes == 2048)
        #expect(fromFile.storage.sqliteBusyTimeoutMilliseconds == 100)

        let fromEnvironment = try await load(file: file.path, env: ["SWIFTLET_HTTP_PORT": "9100", "SWIFTLET_STORAGE_SQLITE_BUSY_TIMEOUT": "200"])
        #expect(fromEnvironment.http.port == 9100)
        #expect(fromEnvironment.http.host == "0.0.0.0")
        #expect(fromEnvironment.storage.sqliteBusyTimeoutMilliseconds == 200)

        let fromFlags = try await load(file: file.path, env: ["SWIFTLET_HTTP_PORT": "9100"], flags: ["http.port": "9200"])
        #expect(fromFlags.http.port == 9200)
    }

    @Test func jsonFilesAndConfigFromEnvironment() async throws {
        let file = try writeFile("swiftlet.json", #"{"http":{"port":7000},"log":{"accessLog":false},"storage":{"autoMigrate":true}}"#)
        defer { file.directory.remove() }
        let config = try await load(env: ["SWIFTLET_CONFIG": file.path])
        #expect(config.http.port == 7000)
        #expect(config.log.accessLog == false)
        #expect(config.storage.autoMigrate == true)
    }

    @Test func invalidValueNamesTheKeyAndEnvironmentVariable() async {
        let found = await problems(env: ["SWIFTLET_HTTP_PORT": "abc"])
        #expect(found.count == 1)
        #expect(found.first?.key == "http.port")
        #expect(found.first?.description.contains("SWIFTLET_HTTP_PORT") == true)
        #expect(found.first?.description.contains("\"abc\"") == true)
    }

    @Test func everyProblemIsReportedAtOnce() async {
        let found = await problems(env: [
            "SWIFTLET_HTTP_PORT": "70000",
            "SWIFTLET_LOG_LEVEL": "loud",
            "SWIFTLET_STORAGE_ENGINE": "mongodb",
            "SWIFTLET_HTTP_IDLE_TIMEOUT": "-1",
            "SWIFTLET_LOG_ACCESS_LOG": "maybe",
        ])
        #expect(Set(found.map(\.key)) == ["http.port", "log.level", "storage.engine", "http.idleTimeout", "log.accessLog"])
    }

    @Test func postgresNeedsAValidURL() async {
        #expect(await problems(env: ["SWIFTLET_STORAGE_ENGINE": "postgres"]).map(\.key) == ["storage.postgres.url"])
        let bad = await problems(env: ["SWIFTLET_STORAGE_ENGINE": "postgres", "SWIFTLET_STORAGE_POSTGRES_URL": "mysql://x@y/z"])
        #expect(bad.map(\.key).contains("storage.postgres.url"))
        let badMode = await problems(env: ["SWIFTLET_STORAGE_POSTGRES_URL": "postgres://u@h/db?sslmode=sometimes"])
        #expect(badMode.first?.message.contains("sslmode") == true)
    }

    /// A production environment that passes every check.
    static let production = [
        "SWIFTLET_PROFILE": "production",
        "SWIFTLET_WECHAT_APP_ID": "wx1234567890abcdef",
        "SWIFTLET_WECHAT_APP_SECRET": "real-secret",
        "SWIFTLET_AUTH_JWT_SECRET": String(repeating: "k", count: 40),
    ]

    @Test func validProductionConfigurationLoads() async throws {
        let config = try await load(env: Self.production)
        #expect(config.profile == .production)
        #expect(config.http.host == "0.0.0.0")
        #expect(config.wechat.sandbox == false)
    }

    @Test func productionRefusesDefaultSecretsAndTheSandbox() async {
        let bare = await problems(env: ["SWIFTLET_PROFILE": "production"])
        #expect(Set(bare.map(\.key)) == ["wechat.appSecret", "wechat.appId", "auth.jwt.secret"])
        let sandbox = await problems(env: Self.production.merging(["SWIFTLET_WECHAT_SANDBOX": "true"]) { _, new in new })
        #expect(sandbox.map(\.key) == ["wechat.sandbox"])
        let sandboxSecret = await problems(env: Self.production.merging(
            ["SWIFTLET_WECHAT_APP_SECRET": SwiftletConfiguration.WeChat.sandboxAppSecret]) { _, new in new })
        #expect(sandboxSecret.map(\.key) == ["wechat.appSecret"])
        let es256 = await problems(env: Self.production.merging(["SWIFTLET_AUTH_JWT_ALGORITHM": "es256"]) { _, new in new })
        #expect(es256.map(\.key) == ["auth.jwt.privateKeyFile"])
    }

    @Test func shortSecretsAreRefusedEverywhere() async {
        #expect(await problems(env: ["SWIFTLET_AUTH_JWT_SECRET": "short"]).map(\.key) == ["auth.jwt.secret"])
        #expect(await problems(env: ["SWIFTLET_AUTH_JWT_RETIRED_SECRETS": "old=tooshort"]).map(\.key) == ["auth.jwt.retiredSecrets"])
        let retired = try? await load(env: ["SWIFTLET_AUTH_JWT_RETIRED_SECRETS": "k0=\(String(repeating: "a", count: 32))"])
        #expect(retired?.auth.jwtRetiredSecrets.first?.kid == "k0")
    }

    @Test func weChatWithoutSandboxNeedsASecret() async {
        #expect(await problems(env: ["SWIFTLET_WECHAT_SANDBOX": "false"]).map(\.key) == ["wechat.appSecret"])
        #expect(await problems(env: ["SWIFTLET_WECHAT_API_BASE_URL": "ftp://x"]).map(\.key) == ["wechat.apiBaseUrl"])
    }

    @Test func productionRefusesSQLiteForSeveralNodes() async {
        let found = await problems(env: Self.production.merging([
            "SWIFTLET_CLUSTER_NODES": "3", "SWIFTLET_REDIS_URL": "rediss://redis.internal:6379",
        ]) { _, new in new })
        #expect(found.map(\.key) == ["storage.engine"])
        #expect(await problems(env: ["SWIFTLET_PROFILE": "development", "SWIFTLET_CLUSTER_NODES": "3"]).isEmpty)
        #expect(await problems(env: Self.production).isEmpty)
    }

    @Test func productionRefusesPlainTextToRemoteDatabase() async {
        let found = await problems(env: Self.production.merging([
            "SWIFTLET_STORAGE_ENGINE": "postgres",
            "SWIFTLET_STORAGE_POSTGRES_URL": "postgres://app:pw@db.internal/app?sslmode=disable",
        ]) { _, new in new })
        #expect(found.map(\.key) == ["storage.postgres.url"])
    }

    @Test func unreadableFileIsAProblem() async {
        let found = await problems(file: "/nonexistent/swiftlet.yaml")
        #expect(found.map(\.key) == ["config"])
        #expect(await problems(file: "/tmp/swiftlet.toml").map(\.key) == ["config"])
    }

    @Test func secretsAreMaskedInTheReport() async throws {
        let config = try await load(env: [
            "SWIFTLET_STORAGE_ENGINE": "postgres",
            "SWIFTLET_STORAGE_POSTGRES_URL": "postgres://app:hunter2@127.0.0.1:5432/app?sslmode=disable",
            "SWIFTLET_AUTH_JWT_SECRET": "jwt-secret-value-that-is-long-enough-1234",
            "SWIFTLET_WECHAT_APP_SECRET": "wechat-app-secret-value",
        ])
        let report = config.maskedEntries.map { "\($0.key)=\($0.value)" }.joined(separator: "\n")
        #expect(!report.contains("hunter2"))
        #expect(report.contains("postgres://app:****@127.0.0.1:5432/app"))
        #expect(!report.contains("jwt-secret-value"))
        #expect(!report.contains("wechat-app-secret-value"))
    }

    @Test func environmentNamesFollowTheKeys() {
        #expect(ConfigKeys.info("http.maxBodySize")?.environmentName == "SWIFTLET_HTTP_MAX_BODY_SIZE")
        #expect(ConfigKeys.info("storage.autoMigrate")?.environmentName == "SWIFTLET_STORAGE_AUTO_MIGRATE")
        #expect(ConfigKeys.info("storage.sqlite.busyTimeout")?.environmentName == "SWIFTLET_STORAGE_SQLITE_BUSY_TIMEOUT")
    }

    @Test("every key is in docs/configuration.md and in the config check report")
    func everyKeyIsDocumented() throws {
        let docs = try String(contentsOfFile: RepositoryPaths.root + "/docs/configuration.md", encoding: .utf8)
        let reported = Set(SwiftletConfiguration().maskedEntries.map(\.key))
        for info in ConfigKeys.all {
            #expect(docs.contains("`\(info.key)`"), "\(info.key) missing from docs/configuration.md")
            #expect(docs.contains(info.environmentName), "\(info.environmentName) missing from docs/configuration.md")
            #expect(reported.contains(info.key), "\(info.key) missing from the config check report")
        }
        #expect(reported.count == ConfigKeys.all.count)
    }
}

enum RepositoryPaths {
    /// The package root, found from this source file's location.
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.path + "/Package.swift") { return url.path }
        }
        return FileManager.default.currentDirectoryPath
    }()
}
