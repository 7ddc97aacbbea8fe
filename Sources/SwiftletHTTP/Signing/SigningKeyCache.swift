import Foundation
import SwiftletCore
import Synchronization

/// Signing keys' secrets held briefly in memory, so a signed request costs no database
/// read: entries (unknown ids too) live `lifetime` seconds, a rotation or revocation on
/// this node drops its entry at once, and one on another node is seen within `lifetime`.
/// At most `capacity` entries: a client sending made-up key ids cannot grow it further
/// (when full it is emptied and refilled by use).
public final class SigningKeyCache: Sendable {
    struct Entry {
        let secrets: SigningKeySecrets?
        let expiresAt: Date
    }

    let keys: any SigningKeyRepository
    let clock: SwiftletClock
    let lifetime: TimeInterval
    let capacity: Int
    private let entries = Mutex<[String: Entry]>([:])

    public init(keys: any SigningKeyRepository, clock: SwiftletClock, lifetime: TimeInterval = 5, capacity: Int = 10_000) {
        self.keys = keys
        self.clock = clock
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// The active key's secrets, or nil for an unknown or revoked id.
    public func secrets(id: String) async throws -> SigningKeySecrets? {
        let now = clock.now
        if let entry = entries.withLock({ $0[id] }), entry.expiresAt > now {
            return entry.secrets
        }
        let secrets = try await keys.secrets(id: id)
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[id] = Entry(secrets: secrets, expiresAt: now.addingTimeInterval(lifetime))
        }
        return secrets
    }

    /// Drops what is known of `id` (after a rotation or revocation).
    public func forget(_ id: String) {
        _ = entries.withLock { $0.removeValue(forKey: id) }
    }
}
