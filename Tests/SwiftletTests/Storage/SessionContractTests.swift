import Foundation
import SwiftletCore
import Testing

/// Sessions, refresh rotation, revocations and admin keys: one contract, every engine.
@Suite("Session storage contract")
struct SessionContractTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func makeSession(_ storage: any StorageEngine, refresh: String = "hash-1") async throws -> Session {
        let user = try await storage.users.findOrCreate(openid: "o-\(UUID())", unionid: nil).user
        let session = Session(id: .generate(), userID: user.id, device: "test", createdAt: now, lastUsedAt: now,
                              expiresAt: now.addingTimeInterval(86_400))
        try await storage.sessions.create(session, refreshTokenHash: refresh)
        return session
    }

    @Test("rotation: current token rotates, old one is reuse, unknown is unknown", arguments: EngineKind.available)
    func rotation(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let session = try await makeSession(storage)
            let later = now.addingTimeInterval(60)
            let first = try await storage.sessions.rotate(presentedHash: "hash-1", newHash: "hash-2", newExpiresAt: later.addingTimeInterval(86_400), now: later, revocationExpiresAt: later.addingTimeInterval(1000))
            guard case .rotated(let rotated) = first else { Issue.record("expected rotation, got \(first)"); return }
            #expect(rotated.id == session.id)
            #expect(rotated.lastUsedAt == later)
            #expect(try await storage.sessions.rotate(presentedHash: "nope", newHash: "x", newExpiresAt: later, now: later, revocationExpiresAt: later) == .unknownToken)
            let reuse = try await storage.sessions.rotate(presentedHash: "hash-1", newHash: "hash-3", newExpiresAt: later, now: later, revocationExpiresAt: later.addingTimeInterval(1000))
            #expect(reuse == .reuseDetected(session.id))
            #expect(try await storage.sessions.find(session.id)?.revokedAt != nil)
            #expect(try await storage.sessions.rotate(presentedHash: "hash-2", newHash: "hash-4", newExpiresAt: later, now: later, revocationExpiresAt: later) == .sessionRevoked)
            let revocations = try await storage.sessions.activeRevocations(now: later)
            #expect(revocations.contains(Revocation(kind: .session, value: session.id.rawValue, expiresAt: later.addingTimeInterval(1000))))
        }
    }

    @Test("two refreshes racing with one token: exactly one rotates", arguments: EngineKind.available)
    func concurrentRotation(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            _ = try await makeSession(storage, refresh: "race")
            let sessions = storage.sessions
            let at = now
            let outcomes = try await withThrowingTaskGroup(of: RefreshOutcome.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        try await sessions.rotate(presentedHash: "race", newHash: "next-\(index)", newExpiresAt: at.addingTimeInterval(86_400),
                                                  now: at, revocationExpiresAt: at.addingTimeInterval(1000))
                    }
                }
                return try await group.reduce(into: [RefreshOutcome]()) { $0.append($1) }
            }
            let rotated = outcomes.filter { if case .rotated = $0 { return true } else { return false } }
            #expect(rotated.count == 1)
            #expect(outcomes.count == 8)
        }
    }

    @Test("expired refresh tokens are refused", arguments: EngineKind.available)
    func expiry(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            _ = try await makeSession(storage, refresh: "old")
            let muchLater = now.addingTimeInterval(2 * 86_400)
            #expect(try await storage.sessions.rotate(presentedHash: "old", newHash: "n", newExpiresAt: muchLater, now: muchLater, revocationExpiresAt: muchLater) == .expired)
        }
    }

    @Test("revoke is owner-checked and idempotent; active sessions exclude it", arguments: EngineKind.available)
    func revoke(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let session = try await makeSession(storage)
            let stranger = try await storage.users.findOrCreate(openid: "o-stranger", unionid: nil).user
            #expect(try await storage.sessions.activeSessions(of: session.userID, now: now).map(\.id) == [session.id])
            #expect(try await !storage.sessions.revoke(session.id, of: stranger.id, reason: .revokedByUser, now: now, revocationExpiresAt: now))
            #expect(try await storage.sessions.revoke(session.id, of: session.userID, reason: .logout, now: now, revocationExpiresAt: now.addingTimeInterval(900)))
            #expect(try await storage.sessions.revoke(session.id, of: session.userID, reason: .logout, now: now, revocationExpiresAt: now.addingTimeInterval(900)))
            #expect(try await storage.sessions.activeSessions(of: session.userID, now: now).isEmpty)
            #expect(try await storage.sessions.rotate(presentedHash: "hash-1", newHash: "n", newExpiresAt: now, now: now, revocationExpiresAt: now) == .sessionRevoked)
        }
    }

    @Test("revocations load while active and are pruned after", arguments: EngineKind.available)
    func revocationsExpire(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            try await storage.sessions.recordRevocation(Revocation(kind: .token, value: "jti-1", expiresAt: now.addingTimeInterval(100)))
            try await storage.sessions.recordRevocation(Revocation(kind: .token, value: "jti-2", expiresAt: now.addingTimeInterval(1000)))
            #expect(Set(try await storage.sessions.activeRevocations(now: now).map(\.value)) == ["jti-1", "jti-2"])
            #expect(try await storage.sessions.activeRevocations(now: now.addingTimeInterval(500)).map(\.value) == ["jti-2"])
            #expect(try await storage.sessions.pruneRevocations(before: now.addingTimeInterval(500)) == 1)
            #expect(try await storage.sessions.activeRevocations(now: now).map(\.value) == ["jti-2"])
        }
    }

    @Test("admin keys: unique active names, reuse after revoke, lookup by hash", arguments: EngineKind.available)
    func adminKeys(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let keys = storage.adminKeys
            _ = try await keys.create(name: "ops", keyHash: "h1", now: now)
            await #expect(throws: SwiftletError.self) { _ = try await keys.create(name: "ops", keyHash: "h2", now: now) }
            #expect(try await keys.authenticate(keyHash: "h1", now: now)?.name == "ops")
            #expect(try await keys.authenticate(keyHash: "h2", now: now) == nil)
            #expect(try await keys.revoke(name: "ops", now: now))
            #expect(try await !keys.revoke(name: "ops", now: now))
            #expect(try await keys.authenticate(keyHash: "h1", now: now) == nil)
            _ = try await keys.create(name: "ops", keyHash: "h3", now: now)
            #expect(try await keys.list().map(\.name) == ["ops", "ops"])
        }
    }
}
