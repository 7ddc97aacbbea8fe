import Foundation
import Testing

/// `swiftlet admin signing-keys`, the CLI twin of the admin routes, on a real binary.
@Suite("swiftlet admin signing-keys")
struct SigningKeysCommandTests {
    @Test func createListRotateRevoke() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let environment = ["SWIFTLET_STORAGE_SQLITE_PATH": directory.path + "/data/swiftlet.sqlite", "SWIFTLET_LOG_LEVEL": "warning",
                           "SWIFTLET_DATA_DIRECTORY": directory.path + "/data"]
        let created = try await SwiftletProcess.run(["admin", "signing-keys", "create", "--name", "app"], environment: environment)
        #expect(created.status == 0, "\(created.standardError)")
        let lines = created.standardOutput.split(separator: "\n").map(String.init)
        let id = try #require(lines.first?.split(separator: "\t").first.map(String.init))
        let secret = try #require(lines.last)
        #expect(id.hasPrefix("ck_") && secret.hasPrefix("cks_"))

        let listed = try await SwiftletProcess.run(["admin", "signing-keys", "list"], environment: environment)
        #expect(listed.standardOutput.contains(id) && listed.standardOutput.contains("active"))
        #expect(!listed.standardOutput.contains(secret), "never a secret in a list")

        let rotated = try await SwiftletProcess.run(["admin", "signing-keys", "rotate", id], environment: environment)
        let newSecret = try #require(rotated.standardOutput.split(separator: "\n").last.map(String.init))
        #expect(rotated.status == 0 && newSecret.hasPrefix("cks_") && newSecret != secret)
        #expect(rotated.standardOutput.contains("previous secret until"))

        #expect(try await SwiftletProcess.run(["admin", "signing-keys", "revoke", id], environment: environment).status == 0)
        #expect(try await SwiftletProcess.run(["admin", "signing-keys", "list"], environment: environment).standardOutput.contains("revoked"))
        let again = try await SwiftletProcess.run(["admin", "signing-keys", "revoke", id], environment: environment)
        #expect(again.status != 0 && again.standardError.contains("signing.key_not_found") || again.standardError.contains("No active signing key"))
    }
}
