import Foundation

/// Persistence of request-signing keys. Secrets are stored as given: verifying an HMAC
/// needs the secret itself, not a hash of it.
public protocol SigningKeyRepository: Sendable {
    /// Stores a new active key. A name already used by an active key is a conflict
    /// (`signing.key_exists`).
    func create(name: String, secret: String, now: Date) async throws -> SigningKey

    /// Every key, active and revoked, oldest first.
    func list() async throws -> [SigningKey]

    /// Replaces an active key's secret; the old one keeps verifying until
    /// `previousValidUntil`. Nil when no active key has this id.
    func rotate(id: String, secret: String, previousValidUntil: Date, now: Date) async throws -> SigningKey?

    /// Revokes an active key: its signatures no longer verify. False when no active key
    /// has this id.
    func revoke(id: String, now: Date) async throws -> Bool

    /// The secrets of an active key, or nil when the id is unknown or revoked.
    func secrets(id: String) async throws -> SigningKeySecrets?
}
