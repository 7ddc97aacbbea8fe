import Foundation

/// Operators' signing keys: the admin routes and the CLI call the same service.
public struct SigningKeyService: Sendable {
    let keys: any SigningKeyRepository
    let clock: SwiftletClock
    /// How long a rotated-out secret keeps verifying, so clients can move to the new one.
    let overlap: TimeInterval
    let onChange: @Sendable (String) -> Void

    /// - Parameter onChange: told the key id after each rotation or revocation (caches drop it).
    public init(keys: any SigningKeyRepository, clock: SwiftletClock, overlap: TimeInterval,
                onChange: @escaping @Sendable (String) -> Void = { _ in }) {
        self.keys = keys
        self.clock = clock
        self.overlap = overlap
        self.onChange = onChange
    }

    public func create(name: String) async throws -> IssuedSigningKey {
        guard (1...64).contains(name.unicodeScalars.count),
              name.unicodeScalars.allSatisfy({ $0.value >= 0x20 && !(0x7F...0x9F).contains($0.value) }) else {
            throw SwiftletError.invalid("signing.invalid_name", "name must be 1 to 64 characters without control characters.")
        }
        let secret = SigningKeys.newSecret()
        return IssuedSigningKey(key: try await keys.create(name: name, secret: secret, now: clock.now), secret: secret)
    }

    public func list() async throws -> [SigningKey] {
        try await keys.list()
    }

    public func rotate(id: String) async throws -> IssuedSigningKey {
        let secret = SigningKeys.newSecret()
        let now = clock.now
        guard let key = try await keys.rotate(id: id, secret: secret, previousValidUntil: now.addingTimeInterval(overlap), now: now) else {
            throw Self.notFound
        }
        onChange(id)
        return IssuedSigningKey(key: key, secret: secret)
    }

    public func revoke(id: String) async throws {
        guard try await keys.revoke(id: id, now: clock.now) else { throw Self.notFound }
        onChange(id)
    }

    static let notFound = SwiftletError.notFound("signing.key_not_found", "No active signing key has this id.")
}
