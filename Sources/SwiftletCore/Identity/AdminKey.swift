import Foundation

/// An operator credential for `/admin/v1`. Only its hash is stored; the key itself is
/// shown once, when created.
public struct AdminKey: Sendable, Equatable {
    public let id: String
    public let name: String
    public let createdAt: Date
    public var lastUsedAt: Date?
    public var revokedAt: Date?

    public init(id: String, name: String, createdAt: Date, lastUsedAt: Date? = nil, revokedAt: Date? = nil) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
    }
}

public enum AdminKeys {
    /// What every admin key starts with: the CLI that creates keys and the HTTP guard
    /// that checks them agree on it here, and a key found in a file or a log is
    /// recognisable (secret scanners can match it).
    public static let prefix = "swk_"
}
