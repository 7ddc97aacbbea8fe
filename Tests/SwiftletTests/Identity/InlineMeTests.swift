import Foundation
import HummingbirdTesting
import SwiftletCore
import SwiftletHTTP
import SwiftletServer
import SwiftletTransport
import Synchronization
import Testing

/// `GET /api/v1/me` answered inline (token verified before, user row cached) must never
/// differ from the router's answer: edits, logout and expiry show at once.
@Suite("Inline GET /me")
struct InlineMeTests {
    final class LaneBox: Sendable {
        let lane = Mutex<InlineLane?>(nil)
        var answered: Int { lane.withLock { $0?.answeredCount ?? -1 } }
    }

    static func me(_ port: Int, _ token: String) async throws -> RawReply {
        try #require(try await RawConnection.open(port: port).exchange(
            "GET /api/v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\n\r\n", responses: 1).first)
    }

    @Test("answered inline once cached; edits, logout and expiry show at once")
    func cachedMeStaysCorrect() async throws {
        let clock = MutableClock(Date())
        let box = LaneBox()
        var customization = TestRoutes.customization
        customization.clock = clock.clock
        customization.onComponents = { components in box.lane.withLock { $0 = components.inlineLane } }
        try await TestStorage.withStorage(.sqlite, clock: clock.clock) { storage in
            let app = try await TestApp.application(storage: storage, customization: customization)
            try await app.test(.live) { (client: any TestClientProtocol) async throws in
                let port = try #require(client.port)
                let login = try await client.login("inline:1")
                let before = box.answered

                // First read: the token has not been verified here yet, so the router answers
                // (and fills both caches); the second is answered inline, identically.
                let first = try await Self.me(port, login.accessToken)
                #expect(first.status == 200)
                #expect(box.answered == before)
                let second = try await Self.me(port, login.accessToken)
                #expect(second.body == first.body)
                #expect(box.answered == before + 1)

                // An edit through this node shows on the very next read.
                #expect(try await client.call(.patch, "/api/v1/me", json: #"{"nickname":"Renamed"}"#, bearer: login.accessToken).status == .ok)
                #expect(try await Self.me(port, login.accessToken).body.contains(#""nickname":"Renamed""#))
                #expect(try await Self.me(port, login.accessToken).body.contains(#""nickname":"Renamed""#))

                // Expiry follows the clock even for a token verified before.
                let other = try await client.login("inline:2")
                _ = try await Self.me(port, other.accessToken)
                clock.advance(1_000)
                let expired = try await Self.me(port, other.accessToken)
                #expect(expired.status == 401)
                #expect(expired.body.contains("auth.token_expired"))

                // Logout: the cached token is refused at once.
                let third = try await client.login("inline:3")
                #expect(try await Self.me(port, third.accessToken).status == 200)
                #expect(try await Self.me(port, third.accessToken).status == 200)
                #expect(try await client.call(.post, "/api/v1/auth/logout", bearer: third.accessToken).status == .noContent)
                let revoked = try await Self.me(port, third.accessToken)
                #expect(revoked.status == 401)
                #expect(revoked.body.contains("auth.token_revoked"))
            }
        }
    }
}
