import Foundation

/// What the nodes of one deployment share, beyond the database: a message bus between
/// nodes, short-lived keys with expiry (locks, nonces, the WeChat access_token) and
/// counters over a window (rate limits).
///
/// Two implementations: in-process (`InProcessClusterState`, one node, the zero-setup
/// default) and Redis (several nodes). The database stays the source of truth for
/// anything durable; what goes through here is either a cache of it, a notification
/// that it changed, or state that may be lost without harm (a lock lease, a counter).
/// Callers must therefore define what they do when a call throws (Redis down): each use
/// documents its fallback in docs/operations.md ("Running several nodes").
public protocol ClusterState: Sendable {
    /// True when other nodes see what this one writes (Redis); false in-process.
    var isShared: Bool { get }

    /// Sends `payload` to every subscriber of `channel` on every node, this one included.
    /// Delivery is at most once: a node that is disconnected misses it and must re-sync
    /// from the database when it sees `.subscribed` again.
    func publish(_ payload: String, on channel: String) async throws

    /// Messages on `channels`, plus `.subscribed` each time the subscription is
    /// (re)established and `.interrupted` when it is lost. The stream ends when the
    /// consuming task is cancelled.
    func subscribe(to channels: [String]) -> AsyncStream<ClusterBusEvent>

    /// Adds `amount` to the counter at `key` and returns the new total. The counter is
    /// created with expiry `window` seconds on its first addition and is gone after it
    /// (a fixed window): the primitive behind rate limits.
    func increment(_ key: String, by amount: Int64, window: TimeInterval) async throws -> Int64

    /// Stores `value` at `key` for `expiresIn` seconds only if nothing is there; true if
    /// it was stored. Locks with a lease and single-use nonces are built on it.
    func setIfAbsent(_ key: String, to value: String, expiresIn: TimeInterval) async throws -> Bool

    /// Stores `value` at `key` for `expiresIn` seconds, replacing what was there.
    func set(_ key: String, to value: String, expiresIn: TimeInterval) async throws

    /// The value at `key`, or nil if absent or expired.
    func value(at key: String) async throws -> String?

    /// Deletes `key` only if it still holds `value` (releasing a lock one owns, dropping a
    /// token only if it is the one that was rejected); true if it was deleted.
    func delete(_ key: String, ifValue value: String) async throws -> Bool
}

/// What a bus subscription reports.
public enum ClusterBusEvent: Sendable, Equatable {
    case message(channel: String, payload: String)
    /// The subscription is (again) active. Anything published while it was not has been
    /// missed: consumers re-sync from the source of truth here.
    case subscribed
    /// The subscription was lost; messages may be missed until the next `.subscribed`.
    case interrupted
}
