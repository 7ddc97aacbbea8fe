import Foundation
import SQLKit
import SwiftletCore

/// `SessionRepository` for every SQL engine.
///
/// Rotation relies on a conditional `UPDATE … WHERE status = 'active' RETURNING`: of two
/// requests presenting the same refresh token, exactly one sees its row change; the
/// other reads what the winner recorded on the row (rotation instant, successor) and is
/// a repeat within the grace window, reuse after it. That holds on SQLite (one writer)
/// and on PostgreSQL (row lock taken by the UPDATE; the re-read sees the winner's commit
/// under read committed) without engine-specific locking.
public struct SQLSessionRepository: SessionRepository {
    let executor: any SQLExecutor

    public init(executor: any SQLExecutor) {
        self.executor = executor
    }

    static let sessionColumns = "s.id, s.user_id, s.device, s.created_at, s.last_used_at, s.expires_at, s.revoked_at"

    public func create(_ session: Session, refreshTokenHash: String) async throws {
        try await executor.transaction { db in
            try await db.raw("""
                INSERT INTO sessions (id, user_id, device, created_at, last_used_at, expires_at)
                VALUES (\(bind: session.id.rawValue), \(bind: session.userID.rawValue), \(bind: session.device),
                        \(bind: session.createdAt.unixMilliseconds), \(bind: session.lastUsedAt.unixMilliseconds),
                        \(bind: session.expiresAt.unixMilliseconds))
                """).run()
            try await db.raw("""
                INSERT INTO refresh_tokens (token_hash, session_id, status, created_at, expires_at)
                VALUES (\(bind: refreshTokenHash), \(bind: session.id.rawValue), 'active',
                        \(bind: session.createdAt.unixMilliseconds), \(bind: session.expiresAt.unixMilliseconds))
                """).run()
        }
    }

    public func rotate(_ rotation: RefreshRotation) async throws -> RefreshOutcome {
        try await executor.transaction { db in
            guard let presented = try await Self.presentedToken(db, rotation.presentedHash) else {
                return .unknownToken
            }
            if presented.session.revokedAt != nil {
                return .sessionRevoked
            }
            guard presented.status == "active" else {
                return try await Self.repeatOrReuse(db, presented, rotation)
            }
            if presented.expiresAt <= rotation.now.unixMilliseconds {
                return .expired
            }
            let now = rotation.now.unixMilliseconds
            let won = try await db.raw("""
                UPDATE refresh_tokens
                SET status = 'rotated', rotated_at = \(bind: now), successor_hash = \(bind: rotation.successorHash),
                    sealed_successor = \(bind: rotation.sealedSuccessor)
                WHERE token_hash = \(bind: rotation.presentedHash) AND status = 'active'
                RETURNING token_hash
                """).first()
            guard won != nil else {
                // A concurrent refresh rotated this token between our read and our update
                // (PostgreSQL, read committed): decide on what it wrote.
                guard let rotated = try await Self.presentedToken(db, rotation.presentedHash) else { return .unknownToken }
                return try await Self.repeatOrReuse(db, rotated, rotation)
            }
            // Only the token rotated just now keeps a sealed successor (the one a repeat
            // within the grace window returns). Older rows lose theirs: their successors are
            // no longer current, and a kept chain would let a database copy plus any one old
            // token be unsealed, link by link, up to the session's current token.
            try await db.raw("""
                UPDATE refresh_tokens SET sealed_successor = NULL
                WHERE session_id = \(bind: presented.session.id.rawValue) AND token_hash <> \(bind: rotation.presentedHash)
                  AND sealed_successor IS NOT NULL
                """).run()
            try await db.raw("""
                INSERT INTO refresh_tokens (token_hash, session_id, status, created_at, expires_at)
                VALUES (\(bind: rotation.successorHash), \(bind: presented.session.id.rawValue), 'active', \(bind: now),
                        \(bind: rotation.newExpiresAt.unixMilliseconds))
                """).run()
            try await db.raw("""
                UPDATE sessions SET last_used_at = \(bind: now), expires_at = \(bind: rotation.newExpiresAt.unixMilliseconds)
                WHERE id = \(bind: presented.session.id.rawValue)
                """).run()
            var updated = presented.session
            updated.lastUsedAt = rotation.now
            updated.expiresAt = rotation.newExpiresAt
            return .rotated(updated)
        }
    }

    /// A presented refresh token's row, its session, and whether its successor is still current.
    struct PresentedToken {
        let session: Session
        let status: String
        let expiresAt: Int64
        let rotatedAt: Int64?
        let sealedSuccessor: String?
        let successorIsCurrent: Bool
    }

    static func presentedToken(_ db: any SQLDatabase, _ hash: String) async throws -> PresentedToken? {
        guard let row = try await db.raw("""
            SELECT rt.status AS token_status, rt.expires_at AS token_expires_at, rt.rotated_at AS token_rotated_at,
                   rt.sealed_successor AS token_sealed_successor, successor.status AS successor_status,
                   \(unsafeRaw: sessionColumns)
            FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
            LEFT JOIN refresh_tokens successor ON successor.token_hash = rt.successor_hash AND successor.session_id = rt.session_id
            WHERE rt.token_hash = \(bind: hash)
            """).first()
        else { return nil }
        return PresentedToken(
            session: try decodeSession(row),
            status: try row.decode(column: "token_status", as: String.self),
            expiresAt: try row.decode(column: "token_expires_at", as: Int64.self),
            rotatedAt: try row.decode(column: "token_rotated_at", as: Int64?.self),
            sealedSuccessor: try row.decode(column: "token_sealed_successor", as: String?.self),
            successorIsCurrent: try row.decode(column: "successor_status", as: String?.self) == "active")
    }

    /// A token that is no longer current: a repeat of its rotation if that happened less
    /// than the grace window ago and its successor is still current (only the immediately
    /// previous token is graced); otherwise reuse, which revokes the session.
    static func repeatOrReuse(_ db: any SQLDatabase, _ presented: PresentedToken,
                              _ rotation: RefreshRotation) async throws -> RefreshOutcome {
        if presented.status == "rotated", presented.successorIsCurrent,
           let rotatedAt = presented.rotatedAt, let sealed = presented.sealedSuccessor,
           Double(rotation.now.unixMilliseconds - rotatedAt) < rotation.reuseGrace * 1000 {
            return .repeated(presented.session, sealedSuccessor: sealed, rotatedAt: Date(unixMilliseconds: rotatedAt))
        }
        try await revoke(db, presented.session.id, reason: .refreshReuse, now: rotation.now,
                         revocationExpiresAt: rotation.revocationExpiresAt)
        return .reuseDetected(presented.session.id)
    }

    public func revoke(_ id: SessionID, of userID: UserID, reason: SessionRevocationReason, now: Date,
                       revocationExpiresAt: Date) async throws -> Bool {
        try await executor.transaction { db in
            let owned = try await db.raw("""
                SELECT id FROM sessions WHERE id = \(bind: id.rawValue) AND user_id = \(bind: userID.rawValue)
                """).first()
            guard owned != nil else { return false }
            try await Self.revoke(db, id, reason: reason, now: now, revocationExpiresAt: revocationExpiresAt)
            return true
        }
    }

    /// Ends a session inside the caller's transaction: session row, its refresh tokens,
    /// and a session-wide revocation entry for its access tokens.
    static func revoke(_ db: any SQLDatabase, _ id: SessionID, reason: SessionRevocationReason, now: Date,
                       revocationExpiresAt: Date) async throws {
        try await db.raw("""
            UPDATE sessions SET revoked_at = \(bind: now.unixMilliseconds), revoke_reason = \(bind: reason.rawValue)
            WHERE id = \(bind: id.rawValue) AND revoked_at IS NULL
            """).run()
        try await db.raw("""
            UPDATE refresh_tokens SET status = 'revoked' WHERE session_id = \(bind: id.rawValue) AND status = 'active'
            """).run()
        try await insertRevocation(db, Revocation(kind: .session, value: id.rawValue, expiresAt: revocationExpiresAt))
    }

    static func insertRevocation(_ db: any SQLDatabase, _ revocation: Revocation) async throws {
        try await db.raw("""
            INSERT INTO revocations (kind, value, expires_at)
            VALUES (\(bind: revocation.kind.rawValue), \(bind: revocation.value), \(bind: revocation.expiresAt.unixMilliseconds))
            ON CONFLICT (kind, value) DO UPDATE SET expires_at = excluded.expires_at
            """).run()
    }

    public func find(_ id: SessionID) async throws -> Session? {
        try await executor.read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.sessionColumns) FROM sessions s WHERE s.id = \(bind: id.rawValue)")
                .first()
                .map(Self.decodeSession)
        }
    }

    public func activeSessions(of userID: UserID, now: Date) async throws -> [Session] {
        try await executor.read { db in
            try await db.raw("""
                SELECT \(unsafeRaw: Self.sessionColumns) FROM sessions s
                WHERE s.user_id = \(bind: userID.rawValue) AND s.revoked_at IS NULL AND s.expires_at > \(bind: now.unixMilliseconds)
                ORDER BY s.created_at DESC, s.id DESC
                LIMIT 200
                """).all().map(Self.decodeSession)
        }
    }

    public func recordRevocation(_ revocation: Revocation) async throws {
        try await executor.transaction { db in
            try await Self.insertRevocation(db, revocation)
        }
    }

    public func activeRevocations(now: Date) async throws -> [Revocation] {
        try await executor.read { db in
            try await db.raw("""
                SELECT kind, value, expires_at FROM revocations WHERE expires_at > \(bind: now.unixMilliseconds)
                """).all().compactMap { row in
                guard let kind = Revocation.Kind(rawValue: try row.decode(column: "kind", as: String.self)) else { return nil }
                return Revocation(
                    kind: kind, value: try row.decode(column: "value", as: String.self),
                    expiresAt: Date(unixMilliseconds: try row.decode(column: "expires_at", as: Int64.self)))
            }
        }
    }

    public func pruneRevocations(before now: Date) async throws -> Int {
        try await executor.transaction { db in
            try await db.raw("DELETE FROM revocations WHERE expires_at <= \(bind: now.unixMilliseconds) RETURNING value").all().count
        }
    }

    static func decodeSession(_ row: any SQLRow) throws -> Session {
        Session(
            id: SessionID(rawValue: try row.decode(column: "id", as: String.self)),
            userID: UserID(rawValue: try row.decode(column: "user_id", as: String.self)),
            device: try row.decode(column: "device", as: String?.self),
            createdAt: Date(unixMilliseconds: try row.decode(column: "created_at", as: Int64.self)),
            lastUsedAt: Date(unixMilliseconds: try row.decode(column: "last_used_at", as: Int64.self)),
            expiresAt: Date(unixMilliseconds: try row.decode(column: "expires_at", as: Int64.self)),
            revokedAt: try row.decode(column: "revoked_at", as: Int64?.self).map(Date.init(unixMilliseconds:)))
    }
}
