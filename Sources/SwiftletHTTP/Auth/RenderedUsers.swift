import SwiftletCore
import SwiftletTransport
import Synchronization

/// The `/me` body of recently served users, reused while the user row is unchanged: a
/// cached user is asked for far more often than it changes, and writing the JSON (two
/// timestamps, eight escaped strings) was most of an inline `/me`'s own cost. Keyed by the
/// whole row, so any change renders afresh; bounded like the user cache, in entries and
/// in bytes (the row plus its JSON).
final class RenderedUsers: Sendable {
    private let entries: Mutex<BoundedCache<UserID, (user: User, json: String)>>

    init(capacity: Int = 10_000, maxBytes: Int = 32 << 20) {
        entries = Mutex(BoundedCache(capacity: capacity, maxBytes: maxBytes))
    }

    /// Approximate bytes held; never more than the budget.
    var byteCount: Int { entries.withLock { $0.byteCount } }

    func json(for user: User) -> String {
        if let hit = entries.withLock({ $0[user.id] }), hit.user == user {
            return hit.json
        }
        let json = UserDTO(user).jsonObject()
        entries.withLock { entries in
            entries.insert((user, json), for: user.id, cost: user.approximateByteCount + json.utf8.count)
        }
        return json
    }
}
