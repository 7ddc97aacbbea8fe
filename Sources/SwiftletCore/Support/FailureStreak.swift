import Foundation
import Logging
import Synchronization

/// What a polling loop says about its failures: the first failure of an outage, then one
/// line a minute while it lasts (with how many failures that line stands for), and one line
/// when the loop works again.
///
/// Without it a loop polling every second writes a warning every second for as long as the
/// database is away: thousands of identical lines that bury everything else and cost the
/// log pipeline more than the outage itself.
public struct FailureStreak: Sendable {
    public enum Action: Equatable, Sendable {
        case none
        /// Log this failure; `repeated` failures since the last line were not logged.
        case failure(repeated: Int)
        /// The loop works again after `failures` failures in a row since `since`.
        case recovered(failures: Int, since: Date)
    }

    public static let repeatInterval: TimeInterval = 60

    private var failures = 0
    private var started: Date?
    private var lastLogged: Date?
    private var unlogged = 0

    public init() {}

    public mutating func failed(now: Date) -> Action {
        failures += 1
        if started == nil { started = now }
        if let lastLogged, now.timeIntervalSince(lastLogged) < Self.repeatInterval {
            unlogged += 1
            return .none
        }
        let repeated = unlogged
        lastLogged = now
        unlogged = 0
        return .failure(repeated: repeated)
    }

    public mutating func succeeded() -> Action {
        defer { self = FailureStreak() }
        guard failures > 0, let started else { return .none }
        return .recovered(failures: failures, since: started)
    }
}

/// A `FailureStreak` shared by a loop's tasks, which writes what it decides to a logger.
public final class FailureStreakLog: Sendable {
    private let message: Logger.Message
    private let clock: SwiftletClock
    /// The module that owns the loop: its lines keep the `source` they had when the loop
    /// logged them itself.
    private let source: String
    private let streak = Mutex(FailureStreak())

    /// `message` names the loop's step, as in "webhook poll failed".
    public init(_ message: Logger.Message, clock: SwiftletClock, fileID: String = #fileID) {
        self.message = message
        self.clock = clock
        self.source = fileID.split(separator: "/", maxSplits: 1).first.map(String.init) ?? "n/a"
    }

    public func failed(_ error: any Error, logger: Logger) {
        let now = clock.now
        switch streak.withLock({ $0.failed(now: now) }) {
        case .failure(let repeated):
            var metadata: Logger.Metadata = ["error": .string(ErrorLog.describe(error))]
            if repeated > 0 { metadata["repeated"] = .stringConvertible(repeated) }
            logger.warning(message, metadata: metadata, source: source)
        case .none, .recovered:
            break
        }
    }

    public func succeeded(logger: Logger) {
        guard case .recovered(let failures, let since) = streak.withLock({ $0.succeeded() }) else { return }
        logger.notice("\(message): working again", metadata: [
            "failures": .stringConvertible(failures),
            "seconds": .stringConvertible(Int(clock.now.timeIntervalSince(since).rounded())),
        ], source: source)
    }
}
