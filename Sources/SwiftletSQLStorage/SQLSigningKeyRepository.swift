import Foundation
import SQLKit
import SwiftletCore

/// `SigningKeyRepository` for every SQL engine. Names are unique among active keys, so a
/// revoked key's name can be reused.
public struct SQLSigningKeyRepository: SigningKeyRepository {
    let executor: any SQLExecutor

    public init(executor: any SQLExecutor) {
        self.executor = executor
    }

    public func create(name: String, secret: String, now: Date) async throws -> SigningKey {
        let key = SigningKey(id: SigningKeys.idPrefix + RandomID.base32(byteCount: 10), name: name, createdAt: now)
        do {
            try await executor.transaction { db in
                try await db.raw("""
                    INSERT INTO signing_keys (id, name, secret, created_at)
                    VALUES (\(bind: key.id), \(bind: name), \(bind: secret), \(bind: now.unixMilliseconds))
                    """).run()
            }
        } catch where executor.classify(error) == .uniqueViolation {
            throw SwiftletError.conflict("signing.key_exists", "An active signing key named '\(name)' already exists.")
        }
        return key
    }

    public func list() async throws -> [SigningKey] {
        try await executor.read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM signing_keys ORDER BY created_at, id").all().map(Self.decode)
        }
    }

    public func rotate(id: String, secret: String, previousValidUntil: Date, now: Date) async throws -> SigningKey? {
        try await executor.transaction { db in
            try await db.raw("""
                UPDATE signing_keys
                SET previous_secret = secret, secret = \(bind: secret),
                    previous_valid_until = \(bind: previousValidUntil.unixMilliseconds), rotated_at = \(bind: now.unixMilliseconds)
                WHERE id = \(bind: id) AND revoked_at IS NULL
                RETURNING \(unsafeRaw: Self.columns)
                """).first().map(Self.decode)
        }
    }

    public func revoke(id: String, now: Date) async throws -> Bool {
        try await executor.transaction { db in
            try await db.raw("""
                UPDATE signing_keys SET revoked_at = \(bind: now.unixMilliseconds)
                WHERE id = \(bind: id) AND revoked_at IS NULL
                RETURNING id
                """).first() != nil
        }
    }

    public func secrets(id: String) async throws -> SigningKeySecrets? {
        try await executor.read { db in
            try await db.raw("""
                SELECT secret, previous_secret, previous_valid_until FROM signing_keys
                WHERE id = \(bind: id) AND revoked_at IS NULL
                """).first().map { row in
                    SigningKeySecrets(
                        current: try row.decode(column: "secret", as: String.self),
                        previous: try row.decode(column: "previous_secret", as: String?.self),
                        previousValidUntil: try row.decode(column: "previous_valid_until", as: Int64?.self).map(Date.init(unixMilliseconds:)))
                }
        }
    }

    static let columns = "id, name, created_at, rotated_at, previous_valid_until, revoked_at"

    static func decode(_ row: any SQLRow) throws -> SigningKey {
        func date(_ column: String) throws -> Date? {
            try row.decode(column: column, as: Int64?.self).map(Date.init(unixMilliseconds:))
        }
        return SigningKey(
            id: try row.decode(column: "id", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            createdAt: Date(unixMilliseconds: try row.decode(column: "created_at", as: Int64.self)),
            rotatedAt: try date("rotated_at"), previousSecretValidUntil: try date("previous_valid_until"),
            revokedAt: try date("revoked_at"))
    }
}
