import Foundation
import SwiftletConfig
import Testing

/// `http.tls.*` is checked at start: pairs must be complete and files readable.
@Suite("TLS configuration")
struct TLSConfigurationTests {
    func problems(_ env: [String: String]) async -> [String] {
        do {
            _ = try await ConfigurationLoader.load(ConfigurationSources(filePath: nil, environment: env, overrides: [:]))
            return []
        } catch {
            return error.problems.map(\.key)
        }
    }

    @Test func certificateAndKeyTogetherAndReadable() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.path + "/a.pem"
        try "x".write(toFile: file, atomically: true, encoding: .utf8)

        #expect(await problems(["SWIFTLET_HTTP_TLS_CERTIFICATE_FILE": file]) == ["http.tls.keyFile"])
        #expect(await problems(["SWIFTLET_HTTP_TLS_KEY_FILE": file]) == ["http.tls.certificateFile"])
        #expect(await problems(["SWIFTLET_HTTP_TLS_CERTIFICATE_FILE": file, "SWIFTLET_HTTP_TLS_KEY_FILE": directory.path + "/missing"])
            .contains("http.tls.keyFile"))
        #expect(await problems(["SWIFTLET_HTTP_TLS_CLIENT_CA_FILE": file]) == ["http.tls.clientCaFile"], "mTLS needs TLS")
        #expect(await problems(["SWIFTLET_HTTP_TLS_MINIMUM_VERSION": "1.1"]) == ["http.tls.minimumVersion"])

        let config = try await ConfigurationLoader.load(ConfigurationSources(filePath: nil, environment: [
            "SWIFTLET_HTTP_TLS_CERTIFICATE_FILE": file, "SWIFTLET_HTTP_TLS_KEY_FILE": file,
            "SWIFTLET_HTTP_TLS_MINIMUM_VERSION": "1.2", "SWIFTLET_HTTP_TLS_CLIENT_CA_FILE": file,
        ], overrides: [:]))
        #expect(config.http.tls.isEnabled)
        #expect(config.http.tls.minimumVersion == .v1_2)
        #expect(config.http.tls.clientCAFile == file)
        #expect(try await ConfigurationLoader.load(ConfigurationSources(filePath: nil, environment: [:], overrides: [:]))
            .http.tls.minimumVersion == .v1_3)
    }
}
