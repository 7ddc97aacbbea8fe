import Foundation

/// A key a client app signs its requests with (see `RequestSignature`). Its id travels in
/// `X-Swiftlet-Key`; its secret is shown once, when created or rotated, and never listed.
public struct SigningKey: Sendable, Equatable {
    public let id: String
    public let name: String
    public let createdAt: Date
    public var rotatedAt: Date?
    /// Until when the secret a rotation replaced still verifies (nil: none does).
    public var previousSecretValidUntil: Date?
    public var revokedAt: Date?

    public init(id: String, name: String, createdAt: Date, rotatedAt: Date? = nil, previousSecretValidUntil: Date? = nil,
                revokedAt: Date? = nil) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
        self.rotatedAt = rotatedAt
        self.previousSecretValidUntil = previousSecretValidUntil
        self.revokedAt = revokedAt
    }
}

/// What verifying a signature by one active key needs: its current secret and, during a
/// rotation's overlap, the one it replaced.
public struct SigningKeySecrets: Sendable, Equatable {
    public let current: String
    public let previous: String?
    public let previousValidUntil: Date?

    public init(current: String, previous: String?, previousValidUntil: Date?) {
        self.current = current
        self.previous = previous
        self.previousValidUntil = previousValidUntil
    }

    /// The secrets that verify at `now`: the current one, and the previous one while its
    /// overlap lasts.
    public func verifying(at now: Date) -> [String] {
        guard let previous, let until = previousValidUntil, now < until else { return [current] }
        return [current, previous]
    }
}

/// A signing key with its secret, as creation and rotation answer it: the only time the
/// secret is shown.
public struct IssuedSigningKey: Sendable {
    public let key: SigningKey
    public let secret: String
}

public enum SigningKeys {
    /// Key ids start with this (`X-Swiftlet-Key: ck_…`).
    public static let idPrefix = "ck_"
    /// Secrets start with this, so one found in a file or a log is recognisable.
    public static let secretPrefix = "cks_"

    /// A new secret: 32 random bytes, base32.
    public static func newSecret() -> String {
        secretPrefix + RandomID.base32(byteCount: 32)
    }
}
