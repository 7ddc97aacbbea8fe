/// Runs `AccessTokenState` for concurrent callers: one fetch at a time, waiters resumed
/// with its outcome.
actor AccessTokenCache {
    private var state = AccessTokenState()
    private var waiters: [CheckedContinuation<String, any Error>] = []
    private let margin: Duration
    private let fetch: @Sendable () async throws -> (token: String, expiresIn: Duration)

    init(margin: Duration, fetch: @escaping @Sendable () async throws -> (token: String, expiresIn: Duration)) {
        self.margin = margin
        self.fetch = fetch
    }

    func token() async throws -> String {
        switch state.request(now: .now) {
        case .use(let value):
            return value
        case .wait:
            return try await withCheckedThrowingContinuation { waiters.append($0) }
        case .refresh:
            do {
                let fetched = try await fetch()
                state.refreshFinished(value: fetched.token, expiresIn: fetched.expiresIn, margin: margin, now: .now)
                resumeWaiters(with: .success(fetched.token))
                return fetched.token
            } catch {
                state.refreshFailed()
                resumeWaiters(with: .failure(error))
                throw error
            }
        }
    }

    func invalidate(_ value: String) {
        state.invalidate(value)
    }

    private func resumeWaiters(with result: Result<String, any Error>) {
        let pending = waiters
        waiters = []
        for waiter in pending { waiter.resume(with: result) }
    }
}
