import Foundation
import HummingbirdTesting
import SwiftletConfig
import SwiftletCore
import SwiftletServer
import Testing

/// Two applications built by `buildApplication` on one database, sharing one cluster
/// state (an in-process one, which then is the bus between them): what one node does
/// must show on the other within a second, on the router and on the inline lane.
@Suite("Two nodes, one database", .timeLimit(.minutes(2)))
struct TwoNodeTests {
    struct Nodes {
        let a: any TestClientProtocol
        let b: any TestClientProtocol
        /// B's inline lane, to see which path answered.
        let laneB: InlineMeTests.LaneBox

        var portB: Int {
            get throws { try #require(b.port) }
        }

        func meOnB(_ token: String) async throws -> RawReply {
            try await InlineMeTests.me(try portB, token)
        }
    }

    /// Starts A and B on `kind`'s database, A on `busA`, B on `busB` (nil: what the
    /// configuration picks), with a user cache long enough (10 minutes) that only an
    /// invalidation can explain a fresh row.
    static func withTwoNodes(
        _ kind: EngineKind, busA: (any ClusterState)?, busB: (any ClusterState)?,
        configure: (inout SwiftletConfiguration) -> Void = { _ in },
        _ body: @escaping @Sendable (Nodes) async throws -> Void
    ) async throws {
        let config = TestApp.config {
            $0.cache.userLifetimeSeconds = 600
            configure(&$0)
        }
        let laneB = InlineMeTests.LaneBox()
        var customizationA = TestRoutes.customization
        customizationA.clusterState = busA
        customizationA.closesStorageOnShutdown = false
        var customizationB = customizationA
        customizationB.clusterState = busB
        customizationB.runsJobWorker = false
        customizationB.onComponents = { components in laneB.lane.withLock { $0 = components.inlineLane } }
        try await TestStorage.withStorage(kind) { storage in
            let appA = try await TestApp.application(storage: storage, config: config, customization: customizationA)
            let appB = try await TestApp.application(storage: storage, config: config, customization: customizationB)
            try await appA.test(.live) { (a: any TestClientProtocol) async throws in
                try await appB.test(.live) { (b: any TestClientProtocol) async throws in
                    try await body(Nodes(a: a, b: b, laneB: laneB))
                }
            }
        }
    }

    @Test("logout on A: the token is refused on B within 1 s, inline and on the router", arguments: EngineKind.available)
    func logoutOnARefusedOnB(_ kind: EngineKind) async throws {
        let bus = InProcessClusterState()
        try await Self.withTwoNodes(kind, busA: bus, busB: bus) { nodes in
            let login = try await nodes.a.login("two:logout")
            let token = login.accessToken

            // B verifies the token (router), then answers from memory (inline lane).
            #expect(try await nodes.meOnB(token).status == 200)
            let before = nodes.laneB.answered
            #expect(try await nodes.meOnB(token).status == 200)
            #expect(nodes.laneB.answered == before + 1, "B answered inline")
            #expect(try await nodes.b.call(.get, "/api/v1/auth/sessions", bearer: token).status == .ok)

            #expect(try await nodes.a.call(.post, "/api/v1/auth/logout", bearer: token).status == .noContent)
            try await waitUntil("B refuses /me", within: .seconds(1)) { try await nodes.meOnB(token).status == 401 }
            try await waitUntil("B refuses a routed request", within: .seconds(1)) {
                try await nodes.b.call(.get, "/api/v1/auth/sessions", bearer: token).errorCode == "auth.token_revoked"
            }
            #expect(try await nodes.meOnB(token).body.contains("auth.token_revoked"))
            #expect(nodes.laneB.answered == before + 1, "the lane did not answer the revoked token")
        }
    }

    @Test("a session ended on A (another device) is refused on B within 1 s", arguments: EngineKind.available)
    func sessionEndedOnARefusedOnB(_ kind: EngineKind) async throws {
        let bus = InProcessClusterState()
        try await Self.withTwoNodes(kind, busA: bus, busB: bus) { nodes in
            let phone = try await nodes.a.login("erin:1", device: "phone")
            let tablet = try await nodes.a.login("erin:2", device: "tablet")
            #expect(try await nodes.meOnB(tablet.accessToken).status == 200)
            #expect(try await nodes.meOnB(tablet.accessToken).status == 200)

            let sessions = try await nodes.a.call(.get, "/api/v1/auth/sessions", bearer: phone.accessToken).decode(SessionsBody.self)
            let tabletSession = try #require(sessions.sessions.first { $0.device == "tablet" })
            #expect(try await nodes.a.call(.delete, "/api/v1/auth/sessions/\(tabletSession.id)", bearer: phone.accessToken).status == .noContent)
            try await waitUntil("B refuses the ended session's token", within: .seconds(1)) {
                try await nodes.meOnB(tablet.accessToken).status == 401
            }
            #expect(try await nodes.meOnB(phone.accessToken).status == 200, "the other session still works")
        }
    }

    @Test("a profile change on A shows on B's /me within 1 s", arguments: EngineKind.available)
    func profileChangeOnAVisibleOnB(_ kind: EngineKind) async throws {
        let bus = InProcessClusterState()
        try await Self.withTwoNodes(kind, busA: bus, busB: bus) { nodes in
            let token = try await nodes.a.login("two:profile").accessToken
            #expect(try await nodes.meOnB(token).status == 200)
            let before = nodes.laneB.answered
            #expect(!(try await nodes.meOnB(token).body.contains("Ada")))
            #expect(nodes.laneB.answered == before + 1, "B holds the row and answers inline")

            #expect(try await nodes.a.call(.patch, "/api/v1/me", json: #"{"nickname":"Ada"}"#, bearer: token).status == .ok)
            try await waitUntil("B shows the new nickname", within: .seconds(1)) {
                try await nodes.meOnB(token).body.contains(#""nickname":"Ada""#)
            }
        }
    }

    /// The bus is down for both nodes from the start (publishes refused, subscriptions
    /// interrupted): B still refuses a token revoked on A within about a second, from the
    /// database, and never serves a user row from its cache.
    @Test("bus down: revocations reach B by polling, B's user cache is bypassed", arguments: EngineKind.available)
    func busDownFallsBackToTheDatabase(_ kind: EngineKind) async throws {
        let base = InProcessClusterState()
        let busA = SwitchableClusterState(base: base, down: true)
        let busB = SwitchableClusterState(base: base, down: true)
        try await Self.withTwoNodes(kind, busA: busA, busB: busB) { nodes in
            let token = try await nodes.a.login("two:down").accessToken
            let before = nodes.laneB.answered
            #expect(try await nodes.meOnB(token).status == 200)
            #expect(try await nodes.meOnB(token).status == 200)
            #expect(nodes.laneB.answered == before, "no user row in B's memory: the router read the database")

            #expect(try await nodes.a.call(.patch, "/api/v1/me", json: #"{"nickname":"Down"}"#, bearer: token).status == .ok)
            #expect(try await nodes.meOnB(token).body.contains(#""nickname":"Down""#), "seen at once: B reads through")

            #expect(try await nodes.a.call(.post, "/api/v1/auth/logout", bearer: token).status == .noContent)
            try await waitUntil("B refuses the revoked token", within: .milliseconds(1500)) {
                try await nodes.meOnB(token).status == 401
            }
            #expect(try await nodes.b.call(.get, "/api/v1/auth/sessions", bearer: token).errorCode == "auth.token_revoked")
            #expect(busA.refusedPublishes.load(ordering: .relaxed) >= 1, "nothing went over the bus")
        }
    }
}
