import AsyncHTTPClient
import Foundation
import HummingbirdTesting
import NIOHTTP1
import SwiftletCore
import Testing

/// A client's parallel refreshes with one refresh token must not log it out; reuse after
/// the grace window, or of an older token, still revokes the session. Over real HTTP, on
/// every engine, with the injected clock.
@Suite("Refresh reuse grace")
struct RefreshGraceTests {
    /// A live app whose clock the test moves; `LiveHTTPClient` opens its own connections,
    /// so requests sent together are handled concurrently.
    static func withClockedApp(
        _ kind: EngineKind, _ body: @escaping @Sendable (any TestClientProtocol, LiveHTTPClient, MutableClock) async throws -> Void
    ) async throws {
        let clock = MutableClock(Date())
        var customization = TestRoutes.customization
        customization.clock = clock.clock
        try await TestStorage.withStorage(kind, clock: clock.clock) { storage in
            let app = try await TestApp.application(storage: storage, customization: customization)
            try await app.test(.live) { (client: any TestClientProtocol) async throws in
                try await body(client, LiveHTTPClient(port: try #require(client.port)), clock)
            }
        }
    }

    static func refresh(_ api: LiveHTTPClient, _ refreshToken: String) async throws -> (status: UInt, body: String) {
        try await api.call(.POST, "/api/v1/auth/refresh", json: #"{"refreshToken":"\#(refreshToken)"}"#)
    }

    @Test("parallel refreshes with one token get the same pair and the session stays valid", arguments: EngineKind.available)
    func parallelRefreshes(kind: EngineKind) async throws {
        try await Self.withClockedApp(kind) { client, api, clock in
            let login = try await client.login("grace:1")
            clock.advance(1000)
            #expect(try await client.call(.get, "/api/v1/me", bearer: login.accessToken).errorCode == "auth.token_expired")

            async let first = Self.refresh(api, login.refreshToken)
            async let second = Self.refresh(api, login.refreshToken)
            async let third = Self.refresh(api, login.refreshToken)
            let replies = try await [first, second, third]
            #expect(replies.map(\.status) == [200, 200, 200], "\(replies.map(\.body))")
            let pairs = try replies.map { try Reply(status: .ok, body: $0.body).decode(TokensBody.self) }
            #expect(Set(pairs.map(\.refreshToken)).count == 1, "every parallel refresh gets the same refresh token")
            #expect(Set(pairs.map(\.accessToken)).count == 1, "and the same access token")
            #expect(pairs[0].refreshToken != login.refreshToken)

            let me = try await client.call(.get, "/api/v1/me", bearer: pairs[0].accessToken)
            #expect(me.status == .ok, "the session survives: \(me.body)")
            #expect(try me.decode(UserBody.self).id == login.user?.id)
            let next = try await client.refresh(pairs[0].refreshToken)
            #expect(next.status == .ok, "the successor carries the chain on")
        }
    }

    @Test("a repeat inside the window gets the same pair; after it, reuse revokes the session", arguments: EngineKind.available)
    func windowEnds(kind: EngineKind) async throws {
        try await Self.withClockedApp(kind) { client, _, clock in
            let login = try await client.login("grace:2")
            let rotated = try await client.refresh(login.refreshToken).decode(TokensBody.self)
            clock.advance(9)
            let repeated = try await client.refresh(login.refreshToken)
            #expect(repeated.status == .ok)
            let again = try repeated.decode(TokensBody.self)
            #expect(again.refreshToken == rotated.refreshToken)
            #expect(again.accessToken == rotated.accessToken)
            #expect(again.expiresIn == rotated.expiresIn - 9, "the repeated access token is the same, 9 s older")

            clock.advance(1.5)
            let late = try await client.refresh(login.refreshToken)
            #expect(late.errorCode == "auth.refresh_reused")
            #expect(try await client.call(.get, "/api/v1/me", bearer: rotated.accessToken).errorCode == "auth.token_revoked")
            #expect(try await client.refresh(rotated.refreshToken).errorCode == "auth.session_revoked")
        }
    }

    @Test("a token two rotations old is reuse even inside the window", arguments: EngineKind.available)
    func onlyThePreviousTokenIsGraced(kind: EngineKind) async throws {
        try await Self.withClockedApp(kind) { client, _, clock in
            let login = try await client.login("grace:3")
            let second = try await client.refresh(login.refreshToken).decode(TokensBody.self)
            clock.advance(1)
            let third = try await client.refresh(second.refreshToken).decode(TokensBody.self)
            clock.advance(1)
            #expect(try await client.refresh(login.refreshToken).errorCode == "auth.refresh_reused")
            #expect(try await client.call(.get, "/api/v1/me", bearer: third.accessToken).errorCode == "auth.token_revoked")
        }
    }

    @Test("the grace window follows auth.refreshReuseGrace; 0 turns it off")
    func configurable() async throws {
        let config = TestApp.config { $0.auth.refreshReuseGraceSeconds = 0 }
        try await TestApp.withLiveApp(.sqlite, config: config) { (client: any TestClientProtocol) async throws in
            let login = try await client.login("grace:4")
            #expect(try await client.refresh(login.refreshToken).status == .ok)
            #expect(try await client.refresh(login.refreshToken).errorCode == "auth.refresh_reused")
        }
    }
}
