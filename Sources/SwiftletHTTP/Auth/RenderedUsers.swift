import Synchronization
import SwiftletCore

/// The `/me` body of recently served users, reused while the user row is unchanged: a
/// cached user is asked for far more often than it changes, and writing the JSON (two
/// timestamps, eight escaped strings) was most of an inline `/me`'s own cost. Keyed by the
/// whole row, so any change renders afresh; bounded like the user cache.
final class RenderedUsers: Sendable {
    private let entries = Mutex<[UserID: (user: User, json: String)]>([:])
    private let capacity: Int

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    func json(for user: User) -> String {
        if let hit = entries.withLock({ $0[user.id] }), hit.user == user {
            return hit.json
        }
        let json = UserDTO(user).jsonObject()
        entries.withLock { entries in
            if entries.count >= capacity, entries[user.id] == nil { entries.removeAll(keepingCapacity: true) }
            entries[user.id] = (user, json)
        }
        return json
    }
}
