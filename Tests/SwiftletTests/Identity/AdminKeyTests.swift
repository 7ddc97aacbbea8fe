import Foundation
import HTTPTypes
import HummingbirdTesting
import SwiftletCore
import Testing

@Suite("Admin keys")
struct AdminKeyTests {
    @Test("admin routes take admin keys only", arguments: EngineKind.available)
    func adminRoutes(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let key = SecretToken.generate(prefix: "swk_")
            _ = try await storage.adminKeys.create(name: "ops", keyHash: SecretToken.hash(key), now: Date())
            let app = try await TestApp.application(storage: storage)
            try await app.test(.live) { (client: any TestClientProtocol) async throws in
                let listed = try await client.call(.get, "/admin/v1/keys", bearer: key)
                #expect(listed.status == .ok)
                #expect(listed.body.contains(#""name":"ops""#))
                #expect(!listed.body.contains(SecretToken.hash(key)), "hashes are never returned")

                let user = try await client.login("admin-wannabe:1")
                #expect(try await client.call(.get, "/admin/v1/keys", bearer: user.accessToken).errorCode == "admin.key_invalid")
                #expect(try await client.call(.get, "/admin/v1/keys").errorCode == "admin.key_missing")
                #expect(try await client.call(.get, "/admin/v1/keys", bearer: "swk_forged").errorCode == "admin.key_invalid")

                let found = try await client.call(.get, "/admin/v1/users/\(user.user!.id)", bearer: key)
                #expect(found.status == .ok)
                #expect(try await client.call(.get, "/admin/v1/users/u_nope", bearer: key).status == .notFound)
                // Admin keys do not open user routes either.
                #expect(try await client.call(.get, "/api/v1/me", bearer: key).errorCode == "auth.token_invalid")

                #expect(try await storage.adminKeys.revoke(name: "ops", now: Date()))
                #expect(try await client.call(.get, "/admin/v1/keys", bearer: key).errorCode == "admin.key_invalid")
            }
        }
    }
}
