import Foundation
import SwiftletCore
import SwiftletSQLStorage
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

    /// A rotation of `presented` to `successor` at `now`, with the default grace window.
    func rotation(_ presented: String, to successor: String, at now: Date, expiresAt: Date? = nil,
                  grace: TimeInterval = 10, revocationExpiresAt: Date? = nil) -> RefreshRotation {
        RefreshRotation(presentedHash: presented, successorHash: successor, sealedSuccessor: "sealed:\(successor)",
                        newExpiresAt: expiresAt ?? now.addingTimeInterval(86_400), now: now, reuseGrace: grace,
                        revocationExpiresAt: revocationExpiresAt ?? now.addingTimeInterval(1000))
    }

    @Test("rotation: current token rotates, old one is reuse, unknown is unknown", arguments: EngineKind.available)
    func rotation(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let session = try await makeSession(storage)
            let later = now.addingTimeInterval(60)
            let first = try await storage.sessions.rotate(rotation("hash-1", to: "hash-2", at: later, grace: 0))
            guard case .rotated(let rotated) = first else { Issue.record("expected rotation, got \(first)"); return }
            #expect(rotated.id == session.id)
            #expect(rotated.lastUsedAt == later)
            #expect(try await storage.sessions.rotate(rotation("nope", to: "x", at: later)) == .unknownToken)
            let reuse = try await storage.sessions.rotate(rotation("hash-1", to: "hash-3", at: later, grace: 0))
            #expect(reuse == .reuseDetected(session.id))
            #expect(try await storage.sessions.find(session.id)?.revokedAt != nil)
            #expect(try await storage.sessions.rotate(rotation("hash-2", to: "hash-4", at: later)) == .sessionRevoked)
            let revocations = try await storage.sessions.activeRevocations(now: later)
            #expect(revocations.contains(Revocation(kind: .session, value: session.id.rawValue, expiresAt: later.addingTimeInterval(1000))))
        }
    }

    @Test("only the token rotated last keeps its sealed successor: no chain to unseal from a database copy",
          arguments: EngineKind.available)
    func sealedSuccessorsDoNotChain(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            _ = try await makeSession(storage)
            _ = try await storage.sessions.rotate(rotation("hash-1", to: "hash-2", at: now.addingTimeInterval(60)))
            _ = try await storage.sessions.rotate(rotation("hash-2", to: "hash-3", at: now.addingTimeInterval(120)))
            _ = try await storage.sessions.rotate(rotation("hash-3", to: "hash-4", at: now.addingTimeInterval(180)))
            let executor = try #require(storage as? any SQLExecutor)
            let sealed = try await executor.read { db in
                try await db.raw("SELECT token_hash FROM refresh_tokens WHERE sealed_successor IS NOT NULL").all()
                    .map { try $0.decode(column: "token_hash", as: String.self) }
            }
            #expect(sealed == ["hash-3"])
        }
    }

    @Test("two refreshes racing with one token: exactly one rotates, the others repeat it", arguments: EngineKind.available)
    func concurrentRotation(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let session = try await makeSession(storage, refresh: "race")
            let sessions = storage.sessions
            let rotations = (0..<8).map { rotation("race", to: "next-\($0)", at: now) }
            let outcomes = try await withThrowingTaskGroup(of: (Int, RefreshOutcome).self) { group in
                for (index, rotation) in rotations.enumerated() {
                    group.addTask { (index, try await sessions.rotate(rotation)) }
                }
                return try await group.reduce(into: [Int: RefreshOutcome]()) { $0[$1.0] = $1.1 }
            }
            let winners = outcomes.filter { if case .rotated = $0.value { return true } else { return false } }.map(\.key)
            #expect(winners.count == 1)
            guard let winner = winners.first else { return }
            for (index, outcome) in outcomes where index != winner {
                guard case .repeated(let repeated, let sealed, let rotatedAt) = outcome else {
                    Issue.record("refresh \(index) lost the race and should repeat the winner's rotation, got \(outcome)")
                    continue
                }
                #expect(repeated.id == session.id)
                #expect(sealed == "sealed:next-\(winner)")
                #expect(rotatedAt == now)
            }
        }
    }

    @Test("grace: a repeat within the window changes nothing; after it, or two rotations back, it is reuse",
          arguments: EngineKind.available)
    func reuseGrace(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let sessions = storage.sessions
            let session = try await makeSession(storage)
            guard case .rotated = try await sessions.rotate(rotation("hash-1", to: "hash-2", at: now)) else {
                Issue.record("first rotation failed"); return
            }
            let repeated = try await sessions.rotate(rotation("hash-1", to: "hash-other", at: now.addingTimeInterval(9.9)))
            guard case .repeated(let same, let sealed, let rotatedAt) = repeated else { Issue.record("expected a repeat, got \(repeated)"); return }
            #expect(same.id == session.id)
            #expect(sealed == "sealed:hash-2")
            #expect(rotatedAt == now)
            // The repeat wrote nothing: the successor is still the current token.
            guard case .rotated = try await sessions.rotate(rotation("hash-2", to: "hash-3", at: now.addingTimeInterval(9.95))) else {
                Issue.record("the successor should still rotate"); return
            }
            // hash-1 is now two rotations back: reuse, although inside its window.
            #expect(try await sessions.rotate(rotation("hash-1", to: "hash-x", at: now.addingTimeInterval(9.96))) == .reuseDetected(session.id))
            #expect(try await sessions.find(session.id)?.revokedAt != nil)

            let second = try await makeSession(storage, refresh: "late-1")
            _ = try await sessions.rotate(rotation("late-1", to: "late-2", at: now))
            #expect(try await sessions.rotate(rotation("late-1", to: "late-x", at: now.addingTimeInterval(10))) == .reuseDetected(second.id),
                    "the window is open for less than its length")
            #expect(try await sessions.find(second.id)?.revokedAt != nil)
        }
    }

    @Test("expired refresh tokens are refused", arguments: EngineKind.available)
    func expiry(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            _ = try await makeSession(storage, refresh: "old")
            let muchLater = now.addingTimeInterval(2 * 86_400)
            #expect(try await storage.sessions.rotate(rotation("old", to: "n", at: muchLater)) == .expired)
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
            #expect(try await storage.sessions.rotate(rotation("hash-1", to: "n", at: now)) == .sessionRevoked)
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
