import Foundation

/// Storage port for sessions, refresh tokens and revocations.
///
/// Every method that changes more than one row does so in one transaction, so a crash
/// or a race never leaves a session with two live refresh tokens or a revocation
/// recorded only half.
public protocol SessionRepository: Sendable {
    /// Stores a new session with its first refresh token (hash only).
    func create(_ session: Session, refreshTokenHash: String) async throws

    /// Rotates the presented token to its successor if it is the session's current token,
    /// recording the rotation instant, the successor's hash and the sealed successor on the
    /// presented token's row in the same transaction. A token presented again while its
    /// successor is still current and less than `reuseGrace` after its rotation is a
    /// repeat (`.repeated`, nothing changes); any other reuse revokes the session.
    func rotate(_ rotation: RefreshRotation) async throws -> RefreshOutcome

    /// Ends the session (idempotent) and records its revocation until
    /// `revocationExpiresAt`. Returns false if no such session belongs to `userID`.
    func revoke(_ id: SessionID, of userID: UserID, reason: SessionRevocationReason, now: Date,
                revocationExpiresAt: Date) async throws -> Bool

    func find(_ id: SessionID) async throws -> Session?

    /// Sessions of `userID` that are neither revoked nor expired, newest first.
    func activeSessions(of userID: UserID, now: Date) async throws -> [Session]

    /// Records a single access token's revocation (`jti`).
    func recordRevocation(_ revocation: Revocation) async throws

    /// Revocations that still matter at `now`, to load into memory at start.
    func activeRevocations(now: Date) async throws -> [Revocation]

    /// Deletes revocations that expired before `now`; returns how many.
    @discardableResult
    func pruneRevocations(before now: Date) async throws -> Int
}

/// Storage port for admin API keys.
public protocol AdminKeyRepository: Sendable {
    /// Stores a key hash under a unique name; throws `admin.key_exists` if the name is taken.
    func create(name: String, keyHash: String, now: Date) async throws -> AdminKey
    /// Marks the named key revoked; false if there is no such active key.
    func revoke(name: String, now: Date) async throws -> Bool
    /// The active key with this hash, if any; records the use.
    func authenticate(keyHash: String, now: Date) async throws -> AdminKey?
    func list() async throws -> [AdminKey]
}
