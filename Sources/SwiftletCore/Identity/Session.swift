import Foundation

/// Identifier of one login on one device. Access tokens carry it as `sid`.
public struct SessionID: StringIdentifier {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static func generate() -> SessionID {
        SessionID(rawValue: "s_" + RandomID.base32(byteCount: 16))
    }
}

/// One login of one user on one device, alive while its refresh token chain is.
public struct Session: Sendable, Equatable {
    public let id: SessionID
    public let userID: UserID
    /// Free-form device label the client sent at login (e.g. "iPhone 15 / WeChat 8.0").
    public var device: String?
    public let createdAt: Date
    public var lastUsedAt: Date
    /// When the refresh chain ends unless refreshed again.
    public var expiresAt: Date
    public var revokedAt: Date?

    public init(id: SessionID, userID: UserID, device: String?, createdAt: Date, lastUsedAt: Date, expiresAt: Date, revokedAt: Date? = nil) {
        self.id = id
        self.userID = userID
        self.device = device
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }
}

/// Why a session ended; stored for audit.
public enum SessionRevocationReason: String, Sendable, Equatable {
    case logout
    case revokedByUser = "revoked_by_user"
    /// A rotated refresh token was presented again: the chain is assumed stolen.
    case refreshReuse = "refresh_reuse"
    case admin
}

/// One refresh attempt as storage sees it: hashes and a sealed box, never a token.
public struct RefreshRotation: Sendable, Equatable {
    public let presentedHash: String
    public let successorHash: String
    /// The successor token sealed under a key only the presented token yields
    /// (`RefreshSuccession`), stored so that a repeat within the grace window can be
    /// answered with the same successor.
    public let sealedSuccessor: String
    public let newExpiresAt: Date
    public let now: Date
    /// How long after its rotation a token may be presented again (while its successor
    /// is still current) without counting as reuse.
    public let reuseGrace: TimeInterval
    public let revocationExpiresAt: Date

    public init(presentedHash: String, successorHash: String, sealedSuccessor: String, newExpiresAt: Date, now: Date,
                reuseGrace: TimeInterval, revocationExpiresAt: Date) {
        self.presentedHash = presentedHash
        self.successorHash = successorHash
        self.sealedSuccessor = sealedSuccessor
        self.newExpiresAt = newExpiresAt
        self.now = now
        self.reuseGrace = reuseGrace
        self.revocationExpiresAt = revocationExpiresAt
    }
}

/// What a refresh attempt found, decided atomically in storage.
public enum RefreshOutcome: Sendable, Equatable {
    /// The token was current; it is now rotated and the new one is stored.
    case rotated(Session)
    /// The token was rotated moments ago (within the grace window) and its successor is
    /// still current: a parallel refresh of the same client. Nothing changed; the caller
    /// re-issues the pair of that rotation from `sealedSuccessor` and `rotatedAt`.
    case repeated(Session, sealedSuccessor: String, rotatedAt: Date)
    case unknownToken
    case expired
    case sessionRevoked
    /// The token had already been rotated (outside the grace window, or two or more
    /// rotations ago): the session is now revoked.
    case reuseDetected(SessionID)
}

/// A revoked token id (`jti`) or session id (`sid`), remembered until every access
/// token it could affect has expired.
public struct Revocation: Sendable, Equatable, Hashable {
    public enum Kind: String, Sendable {
        case token = "jti"
        case session = "sid"
    }

    public let kind: Kind
    public let value: String
    public let expiresAt: Date

    public init(kind: Kind, value: String, expiresAt: Date) {
        self.kind = kind
        self.value = value
        self.expiresAt = expiresAt
    }
}
