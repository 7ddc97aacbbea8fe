import Foundation
import SQLKit
import SwiftletCore

/// `AdminKeyRepository` for every SQL engine. Names are unique among active keys, so a
/// revoked key's name can be reused.
public struct SQLAdminKeyRepository: AdminKeyRepository {
    let executor: any SQLExecutor

    public init(executor: any SQLExecutor) {
        self.executor = executor
    }

    public func create(name: String, keyHash: String, now: Date) async throws -> AdminKey {
        let key = AdminKey(id: "ak_" + RandomID.base32(byteCount: 10), name: name, createdAt: now)
        do {
            try await executor.transaction { db in
                try await db.raw("""
                    INSERT INTO admin_keys (id, name, key_hash, created_at)
                    VALUES (\(bind: key.id), \(bind: name), \(bind: keyHash), \(bind: now.unixMilliseconds))
                    """).run()
            }
        } catch where executor.classify(error) == .uniqueViolation {
            throw SwiftletError.conflict("admin.key_exists", "An active admin key named '\(name)' already exists.")
        }
        return key
    }

    public func revoke(name: String, now: Date) async throws -> Bool {
        try await executor.transaction { db in
            try await db.raw("""
                UPDATE admin_keys SET revoked_at = \(bind: now.unixMilliseconds)
                WHERE name = \(bind: name) AND revoked_at IS NULL
                RETURNING id
                """).first() != nil
        }
    }

    public func authenticate(keyHash: String, now: Date) async throws -> AdminKey? {
        let found = try await executor.read { db in
            try await db.raw("""
                SELECT id, name, created_at, last_used_at, revoked_at FROM admin_keys
                WHERE key_hash = \(bind: keyHash) AND revoked_at IS NULL
                """).first().map(Self.decode)
        }
        guard let found else { return nil }
        // Last use is informative; only write it when it moved by a minute or more.
        if (found.lastUsedAt.map { now.timeIntervalSince($0) >= 60 }) ?? true {
            try await executor.transaction { db in
                try await db.raw("UPDATE admin_keys SET last_used_at = \(bind: now.unixMilliseconds) WHERE id = \(bind: found.id)").run()
            }
        }
        return found
    }

    public func list() async throws -> [AdminKey] {
        try await executor.read { db in
            try await db.raw("SELECT id, name, created_at, last_used_at, revoked_at FROM admin_keys ORDER BY created_at, id")
                .all().map(Self.decode)
        }
    }

    static func decode(_ row: any SQLRow) throws -> AdminKey {
        AdminKey(
            id: try row.decode(column: "id", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            createdAt: Date(unixMilliseconds: try row.decode(column: "created_at", as: Int64.self)),
            lastUsedAt: try row.decode(column: "last_used_at", as: Int64?.self).map(Date.init(unixMilliseconds:)),
            revokedAt: try row.decode(column: "revoked_at", as: Int64?.self).map(Date.init(unixMilliseconds:)))
    }
}
