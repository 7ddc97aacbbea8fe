import Foundation
import SQLKit
import SwiftletCore

/// `SessionRepository` for every SQL engine.
///
/// Rotation relies on a conditional `UPDATE … WHERE status = 'active' RETURNING`: of two
/// requests presenting the same refresh token, exactly one sees its row change; the
/// other is treated as reuse. That holds on SQLite (one writer) and on PostgreSQL
/// (row lock taken by the UPDATE) without engine-specific locking.
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

    public func rotate(presentedHash: String, newHash: String, newExpiresAt: Date, now: Date,
                       revocationExpiresAt: Date) async throws -> RefreshOutcome {
        try await executor.transaction { db in
            guard let row = try await db.raw("""
                SELECT rt.status AS token_status, rt.expires_at AS token_expires_at, \(unsafeRaw: Self.sessionColumns)
                FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
                WHERE rt.token_hash = \(bind: presentedHash)
                """).first()
            else {
                return .unknownToken
            }
            let session = try Self.decodeSession(row)
            if session.revokedAt != nil {
                return .sessionRevoked
            }
            let status = try row.decode(column: "token_status", as: String.self)
            if status != "active" {
                try await Self.revoke(db, session.id, reason: .refreshReuse, now: now, revocationExpiresAt: revocationExpiresAt)
                return .reuseDetected(session.id)
            }
            if try row.decode(column: "token_expires_at", as: Int64.self) <= now.unixMilliseconds {
                return .expired
            }
            let won = try await db.raw("""
                UPDATE refresh_tokens SET status = 'rotated'
                WHERE token_hash = \(bind: presentedHash) AND status = 'active'
                RETURNING token_hash
                """).first()
            guard won != nil else {
                try await Self.revoke(db, session.id, reason: .refreshReuse, now: now, revocationExpiresAt: revocationExpiresAt)
                return .reuseDetected(session.id)
            }
            try await db.raw("""
                INSERT INTO refresh_tokens (token_hash, session_id, status, created_at, expires_at)
                VALUES (\(bind: newHash), \(bind: session.id.rawValue), 'active', \(bind: now.unixMilliseconds), \(bind: newExpiresAt.unixMilliseconds))
                """).run()
            try await db.raw("""
                UPDATE sessions SET last_used_at = \(bind: now.unixMilliseconds), expires_at = \(bind: newExpiresAt.unixMilliseconds)
                WHERE id = \(bind: session.id.rawValue)
                """).run()
            var updated = session
            updated.lastUsedAt = now
            updated.expiresAt = newExpiresAt
            return .rotated(updated)
        }
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
