import Foundation
import SwiftletCore
@testable import SwiftletHTTP
import SwiftletTokens
import SwiftletTransport
import Testing

@Suite("Per-node caches are bounded in bytes")
struct CacheByteBudgetTests {
    /// A user as heavy as the field limits allow: 256-byte nickname, 1 KB avatar URL.
    static func heavyUser(_ index: Int) -> User {
        User(id: UserID(rawValue: "u\(index)"), openid: "openid-\(index)",
             nickname: String(repeating: "😀", count: 64),
             avatarURL: "https://img.example.com/" + String(repeating: "a", count: 1000),
             createdAt: Date(timeIntervalSince1970: 0), updatedAt: Date(timeIntervalSince1970: 0))
    }

    @Test func boundedCacheKeepsItsTotalUnderTheBudget() {
        var cache = BoundedCache<Int, String>(capacity: 1_000, maxBytes: 1_000)
        for key in 0..<100 {
            cache.insert("v", for: key, cost: 150)
            #expect(cache.byteCount <= 1_000)
            #expect(cache[key] == "v", "the newest entry is always kept")
        }
        cache.insert("big", for: -1, cost: 1_001)
        #expect(cache[-1] == nil, "an entry over the whole budget is not stored")
        cache.insert("again", for: 99, cost: 100)
        cache.insert("again", for: 99, cost: 100)
        #expect(cache.byteCount == cache.count * 150 - 50, "replacing an entry counts it once")
        cache.remove(99)
        #expect(cache[99] == nil && cache.byteCount == cache.count * 150)
    }

    @Test("the user cache stays within its byte budget with heavy rows", arguments: EngineKind.available)
    func userCacheByteBudget(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let budget = 8 * 1024
            let cache = CachedUserRepository(storage.users, lifetime: 60, maxBytes: budget, clock: .system)
            var ids: [UserID] = []
            for index in 0..<40 {
                let user = try await storage.users.findOrCreate(openid: "heavy-\(index)-\(RandomID.base32(byteCount: 4))", unionid: nil).user
                _ = try await storage.users.updateProfile(id: user.id, ProfileUpdate(
                    nickname: String(repeating: "吉", count: 64), avatarURL: "https://img.example.com/" + String(repeating: "a", count: 1000)))
                ids.append(user.id)
            }
            var largest = 0
            for id in ids {
                let found = try await cache.find(id: id)
                #expect(found?.nickname?.count == 64)
                #expect(cache.cachedUser(id: id) != nil, "the row just read is cached")
                largest = max(largest, cache.cachedByteCount)
            }
            #expect(largest <= budget)
            #expect(largest > budget / 2, "the budget is used, not bypassed")
        }
    }

    @Test func renderedUsersStayWithinTheirByteBudget() {
        let budget = 16 * 1024
        let rendered = RenderedUsers(maxBytes: budget)
        for index in 0..<100 {
            let json = rendered.json(for: Self.heavyUser(index))
            #expect(json.contains("\"u\(index)\""))
            #expect(rendered.byteCount <= budget)
        }
        #expect(rendered.byteCount > 0)
    }

    @Test func verifiedTokensStayWithinTheirByteBudget() async throws {
        let budget = 16 * 1024
        let codec = try await JWTAccessTokenCodec(
            signing: .hs256(kid: "k1", secret: Array(repeating: 7, count: 32)), issuer: "swiftlet", audience: "swiftlet-miniprogram",
            verifiedCacheMaxBytes: budget)
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))  // JWT times are whole seconds
        for index in 0..<100 {
            let claims = AccessTokenClaims(
                userID: UserID(rawValue: "user-\(index)-" + String(repeating: "x", count: 600)),
                sessionID: SessionID(rawValue: "s\(index)"), tokenID: "t\(index)",
                issuedAt: now, expiresAt: now.addingTimeInterval(600))
            let token = try await codec.sign(claims)
            #expect(try await codec.verify(token, now: now).tokenID == claims.tokenID)
            #expect(codec.cachedClaims(token, now: now)?.tokenID == claims.tokenID, "the token just verified is cached")
            #expect(codec.verifiedTokenCacheByteCount <= budget)
        }
    }
}
