import Foundation
import Synchronization

/// Revoked token and session ids held in memory, so checking a token costs a hash
/// lookup instead of a database round trip.
///
/// Filled from storage at start, on every local revocation, and by `RevocationFeed` with
/// the other nodes' revocations and its re-syncs from storage; `add` is the single entry
/// point for all of them.
/// Entries are dropped once every access token they could match has expired.
public final class RevocationList: Sendable {
    private struct State {
        var entries: [String: Int64] = [:]
        var additionsSincePrune = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func add(_ revocation: Revocation) {
        let key = Self.key(revocation.kind, revocation.value)
        let expiry = revocation.expiresAt.unixMilliseconds
        state.withLock { state in
            state.entries[key] = max(state.entries[key] ?? 0, expiry)
            state.additionsSincePrune += 1
            if state.additionsSincePrune >= 1024 {
                let now = Date().unixMilliseconds
                state.entries = state.entries.filter { $0.value > now }
                state.additionsSincePrune = 0
            }
        }
    }

    public func load(_ revocations: [Revocation]) {
        for revocation in revocations { add(revocation) }
    }

    public func isRevoked(tokenID: String, sessionID: SessionID, now: Date) -> Bool {
        let nowMilliseconds = now.unixMilliseconds
        return state.withLock { state in
            if state.entries.isEmpty { return false }
            if let expiry = state.entries[Self.key(.token, tokenID)], expiry > nowMilliseconds { return true }
            if let expiry = state.entries[Self.key(.session, sessionID.rawValue)], expiry > nowMilliseconds { return true }
            return false
        }
    }

    public var count: Int { state.withLock { $0.entries.count } }

    private static func key(_ kind: Revocation.Kind, _ value: String) -> String {
        kind.rawValue + ":" + value
    }
}
