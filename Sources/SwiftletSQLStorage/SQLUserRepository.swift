import Foundation
import SQLKit
import SwiftletCore

/// `UserRepository` for every SQL engine. Instants are stored as integer UTC
/// milliseconds so both engines sort and compare them identically.
public struct SQLUserRepository: UserRepository {
    let executor: any SQLExecutor
    let clock: SwiftletClock

    public init(executor: any SQLExecutor, clock: SwiftletClock) {
        self.executor = executor
        self.clock = clock
    }

    static let columns = "id, openid, unionid, nickname, avatar_url, phone, created_at, updated_at"

    public func findOrCreate(openid: String, unionid: String?) async throws -> (user: User, created: Bool) {
        let now = clock.now.unixMilliseconds
        let candidate = UserID.generate()
        return try await executor.transaction { db in
            // ON CONFLICT DO NOTHING + RETURNING tells us whether this call inserted,
            // and a concurrent login for the same openid simply finds the winner's row.
            let inserted = try await db.raw("""
                INSERT INTO users (id, openid, unionid, created_at, updated_at)
                VALUES (\(bind: candidate.rawValue), \(bind: openid), \(bind: unionid), \(bind: now), \(bind: now))
                ON CONFLICT (openid) DO NOTHING
                RETURNING id
                """).first()
            if let unionid, inserted == nil {
                try await db.raw("""
                    UPDATE users SET unionid = \(bind: unionid), updated_at = \(bind: now)
                    WHERE openid = \(bind: openid) AND unionid IS NULL
                    """).run()
            }
            guard let row = try await db.raw(
                "SELECT \(unsafeRaw: Self.columns) FROM users WHERE openid = \(bind: openid)"
            ).first() else {
                throw SwiftletError(.internalFailure, code: "storage.inconsistent", message: "user vanished after insert")
            }
            let user = try Self.decodeUser(row)
            if inserted != nil { try await SQLEventOutboxRepository.append(db, [UserDomainEvents.created(user)]) }
            return (user, inserted != nil)
        }
    }

    public func find(id: UserID) async throws -> User? {
        try await executor.read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM users WHERE id = \(bind: id.rawValue)")
                .first()
                .map(Self.decodeUser)
        }
    }

    public func find(openid: String) async throws -> User? {
        try await executor.read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM users WHERE openid = \(bind: openid)")
                .first()
                .map(Self.decodeUser)
        }
    }

    public func updateProfile(id: UserID, _ update: ProfileUpdate) async throws -> User? {
        let now = clock.now.unixMilliseconds
        return try await executor.transaction { db in
            // COALESCE keeps the fields the update leaves nil.
            try await db.raw("""
                UPDATE users SET nickname = COALESCE(\(bind: update.nickname), nickname),
                                 avatar_url = COALESCE(\(bind: update.avatarURL), avatar_url),
                                 updated_at = \(bind: now)
                WHERE id = \(bind: id.rawValue)
                """).run()
            return try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM users WHERE id = \(bind: id.rawValue)")
                .first()
                .map(Self.decodeUser)
        }
    }

    public func updatePhone(id: UserID, phone: String) async throws -> User? {
        let now = clock.now.unixMilliseconds
        return try await executor.transaction { db in
            try await db.raw("UPDATE users SET phone = \(bind: phone), updated_at = \(bind: now) WHERE id = \(bind: id.rawValue)").run()
            return try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM users WHERE id = \(bind: id.rawValue)")
                .first()
                .map(Self.decodeUser)
        }
    }

    public func count() async throws -> Int {
        try await executor.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM users").first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    static func decodeUser(_ row: any SQLRow) throws -> User {
        User(
            id: UserID(rawValue: try row.decode(column: "id", as: String.self)),
            openid: try row.decode(column: "openid", as: String.self),
            unionid: try row.decode(column: "unionid", as: String?.self),
            nickname: try row.decode(column: "nickname", as: String?.self),
            avatarURL: try row.decode(column: "avatar_url", as: String?.self),
            phone: try row.decode(column: "phone", as: String?.self),
            createdAt: Date(unixMilliseconds: try row.decode(column: "created_at", as: Int64.self)),
            updatedAt: Date(unixMilliseconds: try row.decode(column: "updated_at", as: Int64.self))
        )
    }
}
