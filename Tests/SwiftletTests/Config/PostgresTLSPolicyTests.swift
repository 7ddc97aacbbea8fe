import Foundation
import Logging
import SwiftletConfig
import SwiftletServer
import Testing

@Suite("Production TLS to PostgreSQL")
struct PostgresTLSPolicyTests {
    static func environment(url: String, profile: String = "production", optOut: Bool? = nil) -> [String: String] {
        var environment = ConfigurationTests.production
        environment["SWIFTLET_PROFILE"] = profile
        environment["SWIFTLET_STORAGE_ENGINE"] = "postgres"
        environment["SWIFTLET_STORAGE_POSTGRES_URL"] = url
        environment["SWIFTLET_STORAGE_POSTGRES_ALLOW_UNVERIFIED_TLS"] = optOut.map(String.init)
        return environment
    }

    static func load(_ environment: [String: String]) async throws(ConfigurationError) -> SwiftletConfiguration {
        try await ConfigurationLoader.load(ConfigurationSources(environment: environment))
    }

    static func problems(_ environment: [String: String]) async -> [ConfigurationError.Problem] {
        do {
            _ = try await load(environment)
            return []
        } catch {
            return error.problems
        }
    }

    @Test(arguments: ["prefer", "require", "verify-ca"])
    func productionRefusesUnverifiedTLSToARemoteHost(mode: String) async throws {
        let found = await Self.problems(Self.environment(url: "postgres://app:pw@db.internal/app?sslmode=\(mode)"))
        let problem = try #require(found.first)
        #expect(found.count == 1)
        #expect(problem.key == "storage.postgres.url")
        #expect(problem.message.contains("verify-full"))
        #expect(problem.message.contains("storage.postgres.allowUnverifiedTLS"), "the message names the opt-out key")
        #expect(!problem.message.contains("pw"), "the password never appears")
    }

    @Test func productionAcceptsVerifyFull() async throws {
        let config = try await Self.load(Self.environment(url: "postgres://app:pw@db.internal/app?sslmode=verify-full"))
        #expect(config.postgresTLSPolicy == .satisfied)
    }

    @Test(arguments: ["127.0.0.1", "127.0.0.53", "localhost", "[::1]"])
    func productionAcceptsAnyModeToALoopbackHost(host: String) async throws {
        for mode in ["disable", "prefer", "require"] {
            let config = try await Self.load(Self.environment(url: "postgres://app@\(host)/app?sslmode=\(mode)"))
            #expect(config.postgresTLSPolicy == .satisfied)
        }
    }

    @Test func theOptOutIsAcceptedWithAWarning() async throws {
        let config = try await Self.load(
            Self.environment(url: "postgres://app:pw@db.internal/app?sslmode=require", optOut: true))
        guard case .acceptedByOptOut(let reason) = config.postgresTLSPolicy else {
            Issue.record("expected the opt-out to be accepted, got \(config.postgresTLSPolicy)")
            return
        }
        #expect(reason.contains("storage.postgres.allowUnverifiedTLS") && reason.contains("sslmode=require"))
        #expect(config.maskedEntries.contains { $0.key == "storage.postgres.allowUnverifiedTLS" && $0.value == "true" })
    }

    @Test func plainTextToARemoteHostHasNoOptOut() async {
        let found = await Self.problems(
            Self.environment(url: "postgres://app:pw@db.internal/app?sslmode=disable", optOut: true))
        #expect(found.map(\.key) == ["storage.postgres.url"])
        #expect(found.first?.message.contains("sslmode=disable") == true)
    }

    @Test func otherProfilesAreNotRestricted() async throws {
        for profile in ["development", "test"] {
            let config = try await Self.load(
                Self.environment(url: "postgres://app@db.internal/app?sslmode=require", profile: profile))
            #expect(config.postgresTLSPolicy == .satisfied)
        }
    }

    @Test func anUnreadableRootCertificateIsAProblem() async {
        let found = await Self.problems(Self.environment(
            url: "postgres://app@db.internal/app?sslmode=verify-full&sslrootcert=/nonexistent/root.pem"))
        #expect(found.map(\.key) == ["storage.postgres.url"])
        #expect(found.first?.message.contains("sslrootcert") == true)
    }

    /// The warning is written when the engine is opened (serve and migrate alike), before
    /// connecting: here to an address that does not answer, so opening then fails.
    @Test(.timeLimit(.minutes(1)))
    func openingWithTheOptOutLogsAWarning() async throws {
        var environment = Self.environment(url: "postgres://app@192.0.2.1:5432/app?sslmode=require", optOut: true)
        environment["SWIFTLET_STORAGE_POSTGRES_CONNECT_TIMEOUT"] = "0.5"
        let config = try await Self.load(environment)
        let descriptors = try TestPipe.make()
        let output = LogOutput(fileDescriptor: descriptors.write)
        let logger = Logger(label: "swiftlet") { JSONLogHandler(label: $0, level: .info, output: output) }
        await #expect(throws: (any Error).self) {
            _ = try await StorageFactory.openForMigration(config, logger: logger)
        }
        output.flush()
        close(descriptors.write)
        let data = FileHandle(fileDescriptor: descriptors.read, closeOnDealloc: true).readDataToEndOfFile()
        let warning = try #require(String(decoding: data, as: UTF8.self).split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .first { $0["msg"] as? String == "PostgreSQL TLS not verified" })
        #expect(warning["level"] as? String == "warning")
        #expect(warning["key"] as? String == "storage.postgres.allowUnverifiedTLS")
    }
}
