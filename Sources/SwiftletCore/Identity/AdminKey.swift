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
