import Foundation
import HummingbirdTesting
import SwiftletCore
import Testing

/// The same two nodes with `redis.url` set, so each builds its own Redis-backed cluster
/// state (`ClusterComposition`) and the bus between them is a real Redis, which a test
/// then kills.
@Suite("Two nodes over Redis", .enabled(if: TestRedisServer.isAvailable), .timeLimit(.minutes(2)))
struct TwoNodeRedisTests {
    static func withTwoNodes(
        _ kind: EngineKind, _ body: @escaping @Sendable (TwoNodeTests.Nodes, TestRedisServer) async throws -> Void
    ) async throws {
        let server = try await TestRedisServer.start()
        defer { server.stop() }
        try await TwoNodeTests.withTwoNodes(kind, busA: nil, busB: nil, configure: { $0.redis.url = server.url }) { nodes in
            try await body(nodes, server)
        }
    }

    @Test("logout and profile change on A reach B within 1 s through Redis", arguments: EngineKind.available)
    func changesReachBThroughRedis(_ kind: EngineKind) async throws {
        try await Self.withTwoNodes(kind) { nodes, _ in
            let token = try await nodes.a.login("redis:1").accessToken
            #expect(try await nodes.meOnB(token).status == 200)
            let before = nodes.laneB.answered
            try await waitUntil("B answers /me from memory (subscribed, row cached)") {
                _ = try await nodes.meOnB(token)
                return nodes.laneB.answered > before
            }

            #expect(try await nodes.a.call(.patch, "/api/v1/me", json: #"{"nickname":"Redis"}"#, bearer: token).status == .ok)
            try await waitUntil("B shows the new nickname", within: .seconds(1)) {
                try await nodes.meOnB(token).body.contains(#""nickname":"Redis""#)
            }

            #expect(try await nodes.a.call(.post, "/api/v1/auth/logout", bearer: token).status == .noContent)
            try await waitUntil("B refuses the token", within: .seconds(1)) { try await nodes.meOnB(token).status == 401 }
            #expect(try await nodes.b.call(.get, "/api/v1/auth/sessions", bearer: token).errorCode == "auth.token_revoked")
        }
    }

    @Test("Redis killed: a revocation on A is refused on B within about 1 s, B reads users from the database",
          arguments: EngineKind.available)
    func redisKilled(_ kind: EngineKind) async throws {
        try await Self.withTwoNodes(kind) { nodes, server in
            let profile = try await nodes.a.login("redis:2").accessToken
            let revoked = try await nodes.a.login("redis:3").accessToken
            let before = nodes.laneB.answered
            try await waitUntil("B caches the row") {
                _ = try await nodes.meOnB(profile)
                return nodes.laneB.answered > before
            }
            #expect(try await nodes.meOnB(revoked).status == 200)

            await server.kill()
            #expect(try await nodes.a.call(.post, "/api/v1/auth/logout", bearer: revoked).status == .noContent)
            try await waitUntil("B refuses the revoked token", within: .milliseconds(1500)) {
                try await nodes.meOnB(revoked).status == 401
            }

            #expect(try await nodes.a.call(.patch, "/api/v1/me", json: #"{"nickname":"Offline"}"#, bearer: profile).status == .ok)
            #expect(try await nodes.meOnB(profile).body.contains(#""nickname":"Offline""#), "B read it from the database")
        }
    }
}
