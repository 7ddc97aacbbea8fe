import Foundation
import HTTPTypes
import HummingbirdTesting
import SwiftletCore
import Testing

/// The whole identity flow over real HTTP against the sandbox, on every engine.
@Suite("Identity flow")
struct IdentityFlowTests {
    @Test("login → me → refresh → reuse revokes the session", arguments: EngineKind.available)
    func refreshRotationAndReuse(kind: EngineKind) async throws {
        // Without the reuse grace window (covered in RefreshGraceTests), reuse is detected at once.
        let config = TestApp.config { $0.auth.refreshReuseGraceSeconds = 0 }
        try await TestApp.withLiveApp(kind, config: config) { (client: any TestClientProtocol) async throws in
            let login = try await client.login("alice:1", device: "iPhone 15")
            #expect(login.tokenType == "Bearer")
            #expect(login.expiresIn == 900)
            #expect(login.refreshToken.hasPrefix("rt_"))
            #expect(!login.refreshToken.contains("session_key"))
            let me = try await client.call(.get, "/api/v1/me", bearer: login.accessToken)
            #expect(me.status == .ok)
            #expect(try me.decode(UserBody.self).id == login.user?.id)
            #expect(!me.body.contains("session"), "no session key or session data in the profile")

            let rotated = try await client.refresh(login.refreshToken)
            #expect(rotated.status == .ok)
            let second = try rotated.decode(TokensBody.self)
            #expect(second.refreshToken != login.refreshToken)
            #expect(try await client.call(.get, "/api/v1/me", bearer: second.accessToken).status == .ok)

            // The old refresh token is now rejected, and presenting it revokes the session.
            let reused = try await client.refresh(login.refreshToken)
            #expect(reused.status == .unauthorized)
            #expect(reused.errorCode == "auth.refresh_reused")
            let afterTheft = try await client.call(.get, "/api/v1/me", bearer: second.accessToken)
            #expect(afterTheft.errorCode == "auth.token_revoked", "every access token of the session dies at once")
            let stolenChain = try await client.refresh(second.refreshToken)
            #expect(stolenChain.errorCode == "auth.session_revoked")
        }
    }

    @Test("logout rejects the access token at once", arguments: EngineKind.available)
    func logout(kind: EngineKind) async throws {
        try await TestApp.withLiveApp(kind) { (client: any TestClientProtocol) async throws in
            let login = try await client.login("bob:1")
            #expect(try await client.call(.post, "/api/v1/auth/logout", bearer: login.accessToken).status == .noContent)
            let me = try await client.call(.get, "/api/v1/me", bearer: login.accessToken)
            #expect(me.status == .unauthorized)
            #expect(me.errorCode == "auth.token_revoked")
            #expect(try await client.refresh(login.refreshToken).errorCode == "auth.session_revoked")
            // Another session of the same user is untouched.
            let other = try await client.login("bob:2")
            #expect(try await client.call(.get, "/api/v1/me", bearer: other.accessToken).status == .ok)
            #expect(other.user?.id == login.user?.id)
        }
    }

    @Test("device sessions: list and end another device", arguments: EngineKind.available)
    func deviceSessions(kind: EngineKind) async throws {
        try await TestApp.withLiveApp(kind) { (client: any TestClientProtocol) async throws in
            let phone = try await client.login("carol:1", device: "phone")
            let tablet = try await client.login("carol:2", device: "tablet")
            let listed = try await client.call(.get, "/api/v1/auth/sessions", bearer: phone.accessToken).decode(SessionsBody.self)
            #expect(listed.sessions.count == 2)
            #expect(listed.sessions.filter(\.current).map(\.device) == ["phone"])
            let tabletID = try #require(listed.sessions.first { $0.device == "tablet" }?.id)

            let ended = try await client.call(.delete, "/api/v1/auth/sessions/\(tabletID)", bearer: phone.accessToken)
            #expect(ended.status == .noContent)
            #expect(try await client.call(.get, "/api/v1/me", bearer: tablet.accessToken).errorCode == "auth.token_revoked")
            #expect(try await client.call(.get, "/api/v1/me", bearer: phone.accessToken).status == .ok)

            let unknown = try await client.call(.delete, "/api/v1/auth/sessions/s_nope", bearer: phone.accessToken)
            #expect(unknown.status == .notFound)
            // Someone else's session is not found either (no existence leak).
            let dave = try await client.login("dave:1")
            let daveSessions = try await client.call(.get, "/api/v1/auth/sessions", bearer: dave.accessToken).decode(SessionsBody.self)
            let foreign = try await client.call(.delete, "/api/v1/auth/sessions/\(daveSessions.sessions[0].id)", bearer: phone.accessToken)
            #expect(foreign.status == .notFound)
            #expect(try await client.call(.get, "/api/v1/me", bearer: dave.accessToken).status == .ok)
        }
    }

    @Test("two concurrent logins with one code: one succeeds, no duplicate user", arguments: EngineKind.available)
    func concurrentLoginsWithOneCode(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let app = try await TestApp.application(storage: storage)
            try await app.test(.live) { (client: any TestClientProtocol) async throws in
                let replies = try await withThrowingTaskGroup(of: Reply.self) { group in
                    for _ in 0..<2 {
                        group.addTask { try await client.call(.post, "/api/v1/auth/wechat/login", json: #"{"code":"erin:same"}"#) }
                    }
                    return try await group.reduce(into: [Reply]()) { $0.append($1) }
                }
                #expect(replies.filter { $0.status == .ok }.count == 1)
                #expect(replies.compactMap(\.errorCode) == ["auth.code_used"])
                #expect(try await storage.users.count() == 1)
            }
        }
    }

    @Test("WeChat busy: 503, nothing written", arguments: EngineKind.available)
    func weChatBusy(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let app = try await TestApp.application(storage: storage)
            try await app.test(.live) { (client: any TestClientProtocol) async throws in
                let reply = try await client.call(.post, "/api/v1/auth/wechat/login", json: #"{"code":"err:-1:x"}"#)
                #expect(reply.status == .serviceUnavailable)
                #expect(reply.errorCode == "wechat.busy")
                #expect(try await storage.users.count() == 0)
            }
        }
    }

    @Test("WeChat not answering: 503 within the client timeout, nothing written")
    func weChatNotAnswering() async throws {
        let config = TestApp.config { $0.wechat.timeoutSeconds = 0.5 }
        try await TestStorage.withStorage(.sqlite) { storage in
            let app = try await TestApp.application(storage: storage, config: config)
            try await app.test(.live) { (client: any TestClientProtocol) async throws in
                let started = ContinuousClock.now
                // The sandbox would answer after 20 s; the 0.5 s client timeout answers
                // first (the bound leaves room for a heavily loaded machine).
                let reply = try await client.call(.post, "/api/v1/auth/wechat/login", json: #"{"code":"slow:20000:frank"}"#)
                #expect(ContinuousClock.now - started < .seconds(12))
                #expect(reply.status == .serviceUnavailable)
                #expect(reply.errorCode == "wechat.timeout")
                #expect(try await storage.users.count() == 0)
            }
        }
    }

    @Test func loginErrorsAreClear() async throws {
        try await TestApp.withLiveApp { (client: any TestClientProtocol) async throws in
            #expect(try await client.call(.post, "/api/v1/auth/wechat/login", json: #"{"code":"err:40029:x"}"#).errorCode == "auth.invalid_code")
            #expect(try await client.call(.post, "/api/v1/auth/wechat/login", json: #"{"code":"err:40226:x"}"#).status == .forbidden)
            #expect(try await client.call(.post, "/api/v1/auth/wechat/login", json: #"{"code":"err:45011:x"}"#).status == .tooManyRequests)
            #expect(try await client.call(.post, "/api/v1/auth/wechat/login", json: #"{"code":""}"#).errorCode == "auth.invalid_code")
            #expect(try await client.call(.post, "/api/v1/auth/wechat/login", json: #"{}"#).errorCode == "request.missing_field")
            #expect(try await client.call(.post, "/api/v1/auth/refresh", json: #"{"refreshToken":"rt_unknown"}"#).errorCode == "auth.refresh_invalid")
            #expect(try await client.call(.post, "/api/v1/auth/refresh", json: #"{"refreshToken":"nonsense"}"#).errorCode == "auth.refresh_invalid")
        }
    }

    @Test func profileUpdateAndPhone() async throws {
        try await TestApp.withLiveApp { (client: any TestClientProtocol) async throws in
            let login = try await client.login("gina:1")
            let token = login.accessToken
            let updated = try await client.call(.patch, "/api/v1/me", json: #"{"nickname":"  吉娜 ","avatarUrl":"https://img.example.com/g.png"}"#, bearer: token)
            #expect(updated.status == .ok)
            let user = try updated.decode(UserBody.self)
            #expect(user.nickname == "吉娜")
            #expect(user.avatarUrl == "https://img.example.com/g.png")

            #expect(try await client.call(.patch, "/api/v1/me", json: #"{"nickname":""}"#, bearer: token).errorCode == "profile.invalid_nickname")
            #expect(try await client.call(.patch, "/api/v1/me", json: #"{"nickname":"\#(String(repeating: "x", count: 65))"}"#, bearer: token).errorCode == "profile.invalid_nickname")
            #expect(try await client.call(.patch, "/api/v1/me", json: #"{"avatarUrl":"javascript:alert(1)"}"#, bearer: token).errorCode == "profile.invalid_avatar_url")
            #expect(try await client.call(.patch, "/api/v1/me", json: #"{}"#, bearer: token).errorCode == "profile.empty_update")
            #expect(try await client.call(.patch, "/api/v1/me", json: #"{"nickname":5}"#, bearer: token).errorCode == "request.invalid_type")
            let unchanged = try await client.call(.get, "/api/v1/me", bearer: token).decode(UserBody.self)
            #expect(unchanged.nickname == "吉娜", "rejected updates change nothing")

            let phone = try await client.call(.post, "/api/v1/me/phone", json: #"{"code":"gina:p1"}"#, bearer: token)
            #expect(phone.status == .ok)
            #expect(try phone.decode(UserBody.self).phone?.hasPrefix("+8613") == true)
            #expect(try await client.call(.post, "/api/v1/me/phone", json: #"{"code":"gina:p1"}"#, bearer: token).errorCode == "profile.phone_code_used")
            #expect(try await client.call(.post, "/api/v1/me/phone", json: #"{"code":"gina:p1"}"#).errorCode == "auth.token_missing")
        }
    }

    @Test("revocations survive a restart", arguments: EngineKind.available)
    func revocationsSurviveRestart(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            var keepStorage = TestRoutes.customization
            keepStorage.closesStorageOnShutdown = false
            let first = try await TestApp.application(storage: storage, customization: keepStorage)
            let token = try await first.test(.live) { (client: any TestClientProtocol) async throws -> String in
                let login = try await client.login("hank:1")
                #expect(try await client.call(.post, "/api/v1/auth/logout", bearer: login.accessToken).status == .noContent)
                return login.accessToken
            }
            // A new application on the same database (a restart, or another node).
            let second = try await TestApp.application(storage: storage)
            try await second.test(.live) { (client: any TestClientProtocol) async throws in
                #expect(try await client.call(.get, "/api/v1/me", bearer: token).errorCode == "auth.token_revoked")
            }
        }
    }
}
