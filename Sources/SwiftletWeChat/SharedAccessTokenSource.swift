import Foundation
import Synchronization

/// Gets the access_token through the store the nodes share (rules in
/// `AccessTokenSharing`), falling back to this node's own `stable_token` fetch when the
/// store fails. Runs behind the node's single-flight cache: one call at a time per node.
struct SharedAccessTokenSource: Sendable {
    let sharing: AccessTokenSharing
    let fetcher: StableTokenFetcher
    let margin: Duration
    let lockLease: Duration
    private let outage = StoreOutage()

    init(sharing: AccessTokenSharing, fetcher: StableTokenFetcher, margin: Duration) {
        self.sharing = sharing
        self.fetcher = fetcher
        self.margin = margin
        self.lockLease = sharing.lockLease ?? fetcher.configuration.timeout * 2 + .seconds(1)
    }

    /// The token to use, `rejected` being the one WeChat just refused, if any.
    func token(rejected: String?) async throws -> CachedAccessToken {
        do {
            return try await shared(rejected: rejected)
        } catch let failure as StoreFailure {
            report(failure)
            let fetched = try await fetcher.fetch()
            return CachedAccessToken(value: fetched.token, expiresIn: fetched.expiresIn, margin: margin)
        }
    }

    private func shared(rejected: String?) async throws -> CachedAccessToken {
        if let rejected {
            _ = try await storeCall { try await sharing.store.dropToken(ifValue: rejected) }
        }
        let owner = UUID().uuidString
        let deadline = ContinuousClock.now + sharing.waitLimit
        while true {
            if let usable = try await usableSharedToken(rejected: rejected) {
                return usable
            }
            if try await storeCall({ try await sharing.store.acquireRefreshLock(owner: owner, lease: lockLease) }) {
                return try await refreshHoldingLock(owner: owner, rejected: rejected)
            }
            guard ContinuousClock.now + sharing.pollInterval < deadline else { break }
            try await Task.sleep(for: sharing.pollInterval)
        }
        // The node refreshing took too long or died holding the lock: fetch alone in
        // normal mode (the same token WeChat gives it) and leave the store to the lock holder.
        let fetched = try await fetcher.fetch()
        return CachedAccessToken(value: fetched.token, expiresIn: fetched.expiresIn, margin: margin)
    }

    /// The stored token if it is neither the rejected one nor due for a refresh.
    private func usableSharedToken(rejected: String?) async throws -> CachedAccessToken? {
        guard let token = try await storeCall({ try await sharing.store.token() }),
              token.value != rejected
        else { return nil }
        let remaining = token.refreshAt.timeIntervalSince(sharing.now())
        guard remaining > 0 else { return nil }
        return CachedAccessToken(value: token.value, refreshAt: .now + .milliseconds(Int64(remaining * 1000)))
    }

    private func refreshHoldingLock(owner: String, rejected: String?) async throws -> CachedAccessToken {
        let result: CachedAccessToken
        do {
            result = try await refresh(rejected: rejected)
        } catch {
            try? await storeCall { try await sharing.store.releaseRefreshLock(owner: owner) }
            throw error
        }
        do {
            try await storeCall { try await sharing.store.releaseRefreshLock(owner: owner) }
        } catch let failure as StoreFailure {
            // The lease frees the lock; the token is in hand.
            report(failure)
        }
        return result
    }

    private func refresh(rejected: String?) async throws -> CachedAccessToken {
        // Another node may have stored a fresh token between the read and the lock.
        if let usable = try await usableSharedToken(rejected: rejected) {
            return usable
        }
        var fetched = try await fetcher.fetch()
        if let rejected, fetched.token == rejected,
           try await storeCall({ try await sharing.store.claimForcedRefresh(spacing: sharing.forcedRefreshSpacing) }) {
            sharing.events(.forcedRefresh)
            fetched = try await fetcher.fetch(force: true)
        }
        if fetched.token == rejected {
            // Normal mode keeps answering the rejected token and a forced refresh was made
            // less than `forcedRefreshSpacing` ago: do not hand it to the other nodes.
            return CachedAccessToken(value: fetched.token, expiresIn: fetched.expiresIn, margin: margin)
        }
        let now = sharing.now()
        let lead = AccessTokenState.refreshLead(margin: margin, expiresIn: fetched.expiresIn)
        let shared = SharedAccessToken(
            value: fetched.token,
            refreshAt: now.addingTimeInterval((fetched.expiresIn - lead).timeInterval),
            expiresAt: now.addingTimeInterval(fetched.expiresIn.timeInterval))
        do {
            try await storeCall { try await sharing.store.store(shared) }
        } catch let failure as StoreFailure {
            report(failure)
        }
        return CachedAccessToken(value: fetched.token, expiresIn: fetched.expiresIn, margin: margin)
    }

    /// Runs one store operation; its failure becomes a `StoreFailure` (so it is told
    /// apart from WeChat's errors), and its success ends a reported outage.
    private func storeCall<T: Sendable>(_ operation: () async throws -> T) async throws -> T {
        let value: T
        do {
            value = try await operation()
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw StoreFailure(description: String(describing: error))
        }
        if outage.end() { sharing.events(.storeRecovered) }
        return value
    }

    private func report(_ failure: StoreFailure) {
        if outage.begin() { sharing.events(.storeUnavailable(failure.description)) }
    }
}

/// A shared-store operation failed (as opposed to a WeChat call).
private struct StoreFailure: Error {
    let description: String
}

/// Whether an outage of the shared store has been reported, so it is reported once.
private final class StoreOutage: Sendable {
    private let reported = Mutex(false)

    /// True if this starts an outage (report it).
    func begin() -> Bool {
        reported.withLock { reported in
            defer { reported = true }
            return !reported
        }
    }

    /// True if this ends a reported outage.
    func end() -> Bool {
        reported.withLock { reported in
            defer { reported = false }
            return reported
        }
    }
}

extension Duration {
    var timeInterval: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
