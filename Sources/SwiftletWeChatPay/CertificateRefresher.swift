/// Single-flight, rate-limited certificate refresh.
///
/// An unknown `Wechatpay-Serial` triggers one download of `/v3/certificates`; concurrent
/// callers wait for that same download instead of starting their own. After a refresh,
/// further refreshes are refused for a while, so forged notifies with made-up serials
/// cannot turn into a stream of downloads.
actor CertificateRefresher {
    private var inFlight: Task<Void, any Error>?
    private var lastFinished: ContinuousClock.Instant?
    private let minimumInterval: Duration

    init(minimumInterval: Duration) {
        self.minimumInterval = minimumInterval
    }

    /// Runs `download` unless one is running (then waits for it) or one finished less
    /// than `minimumInterval` ago (then returns false: nothing new to try).
    func refresh(_ download: @escaping @Sendable () async throws -> Void) async throws -> Bool {
        if let inFlight {
            try await inFlight.value
            return true
        }
        if let lastFinished, ContinuousClock.now - lastFinished < minimumInterval {
            return false
        }
        let task = Task { try await download() }
        inFlight = task
        defer {
            inFlight = nil
            lastFinished = .now
        }
        try await task.value
        return true
    }
}
