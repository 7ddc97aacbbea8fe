import Foundation
import Testing

/// Signed requests across three processes sharing Redis: a nonce used on one node is
/// refused on the others, and a key revoked on one node stops verifying on the others
/// within the key cache's lifetime.
extension ThreeNodeRedisClusterTests {
    @Test("a signed request used on node 1 is a replay on nodes 2 and 3; a revocation reaches every node within 6 s")
    func signedRequestsAcrossNodes() async throws {
        try await Self.withCluster(environment: ["SWIFTLET_SIGNING_ROUTES": "/api/v1/me=optional"]) { cluster, _ in
            let admin = try await cluster.createAdminKey()
            let created = try await Self.node(cluster, 1).json(.POST, "/admin/v1/signing-keys", json: #"{"name":"cluster"}"#, token: admin)
            let keyID = try #require((created["key"] as? [String: Any])?["id"] as? String)
            let signer = TestSigner(keyID: keyID, secret: try #require(created["secret"] as? String))
            func me(_ node: Int, _ headers: [(String, String)]) async throws -> String? {
                let reply = try await Self.node(cluster, node).call(.GET, "/api/v1/me", headers: headers)
                let object = try JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any]
                return (object?["error"] as? [String: Any])?["code"] as? String
            }
            func signed() -> [(String, String)] {
                signer.headers("GET", "/api/v1/me", timestamp: Date()).map { ($0.name.rawName, $0.value) }
            }

            let once = signed()
            // The signature verifies, so the request reaches the bearer check behind it.
            #expect(try await me(1, once) == "auth.token_missing", "\(cluster.output)")
            #expect(try await me(2, once) == "signature.replayed")
            #expect(try await me(3, once) == "signature.replayed")
            #expect(try await me(3, signed()) == "auth.token_missing")

            let revoked = try await Self.node(cluster, 1).call(.DELETE, "/admin/v1/signing-keys/\(keyID)", token: admin)
            #expect(revoked.status == 204)
            #expect(try await me(1, signed()) == "signature.unknown_key", "at once on the node that revoked it")
            try await ThreeNodeClusterTests.waitUntil("nodes 2 and 3 refuse the revoked key", cluster, timeout: .seconds(6)) {
                let two = try await me(2, signed())
                let three = try await me(3, signed())
                return two == "signature.unknown_key" && three == "signature.unknown_key"
            }
        }
    }
}
