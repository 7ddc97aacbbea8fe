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

/// What a refresh attempt found, decided atomically in storage.
public enum RefreshOutcome: Sendable, Equatable {
    /// The token was current; it is now rotated and the new one is stored.
    case rotated(Session)
    case unknownToken
    case expired
    case sessionRevoked
    /// The token had already been rotated: the session is now revoked.
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
