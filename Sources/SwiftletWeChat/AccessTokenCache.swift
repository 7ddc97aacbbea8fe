/// Runs `AccessTokenState` for concurrent callers: one fetch at a time, waiters resumed
/// with its outcome.
///
/// The fetch is told which token WeChat rejected last, if that is why the cache is
/// empty, so a fetch from a store shared by several nodes can drop exactly that token
/// and decide whether a forced refresh is due.
actor AccessTokenCache {
    typealias Fetch = @Sendable (_ rejected: String?) async throws -> CachedAccessToken

    private var state = AccessTokenState()
    private var waiters: [CheckedContinuation<String, any Error>] = []
    /// The token WeChat rejected while it was the cached one, until the next fetch.
    private var rejected: String?
    private let fetch: Fetch

    init(fetch: @escaping Fetch) {
        self.fetch = fetch
    }

    func token() async throws -> String {
        switch state.request(now: .now) {
        case .use(let value):
            return value
        case .wait:
            return try await withCheckedThrowingContinuation { waiters.append($0) }
        case .refresh:
            let rejected = self.rejected
            self.rejected = nil
            do {
                let fetched = try await fetch(rejected)
                state.refreshFinished(value: fetched.value, refreshAt: fetched.refreshAt)
                resumeWaiters(with: .success(fetched.value))
                return fetched.value
            } catch {
                state.refreshFailed()
                resumeWaiters(with: .failure(error))
                throw error
            }
        }
    }

    func invalidate(_ value: String) {
        if state.invalidate(value) { rejected = value }
    }

    private func resumeWaiters(with result: Result<String, any Error>) {
        let pending = waiters
        waiters = []
        for waiter in pending { waiter.resume(with: result) }
    }
}
