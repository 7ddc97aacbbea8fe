import Synchronization

/// The guard in front of one outbound dependency (WeChat, WeChat Pay, one webhook
/// endpoint): an `AdaptiveThrottle` that refuses calls locally while the dependency fails
/// more than it answers, and a `RetryBudget` that keeps immediate retries to a tenth of
/// the calls, behind one lock, on an injected clock.
///
/// A call goes like this: `admit` (a ticket, or the refusal to fail fast with), the call
/// itself under the caller's own timeout, then `record` with what its answer says about
/// the dependency's health (or `abandon` when it was cut short and says nothing). `run`
/// does it all in one. A retry made right after a failed call asks `grantRetry` first and
/// is admitted as `.retry`, so it is neither a call that earns more retries nor exempt
/// from the throttle.
///
/// What is a failure is the caller's decision (see `DependencyOutcome`): only answers that
/// say the dependency cannot take calls now count; a business refusal is an answer.
///
/// A call still waiting after `overdueAfter` counts as a request not accepted until it
/// ends, so a dependency that hangs is refused from then on instead of after a whole
/// timeout's worth of calls has piled up waiting (a healthy dependency's slow calls are
/// absorbed by K: it may leave up to half its calls unanswered that long).
///
/// State changes are reported once per change through `onChange`: when the first call is
/// refused, and when the reject probability is back to zero (seen at the next call or
/// outcome, since nothing runs in between). Nothing about the calls themselves (URLs,
/// bodies, users) reaches the breaker, so nothing of it can reach a log line.
public final class DependencyBreaker: Sendable {
    public struct Configuration: Sendable, Equatable {
        public var throttle: AdaptiveThrottle.Configuration
        public var retryBudget: RetryBudget.Configuration
        /// How long a call may wait for its answer before it counts against the dependency
        /// while it still waits: well above its usual latency, well below its timeout.
        public var overdueAfter: Duration

        public init(
            throttle: AdaptiveThrottle.Configuration = .init(), retryBudget: RetryBudget.Configuration = .init(),
            overdueAfter: Duration = .seconds(2)
        ) {
            self.throttle = throttle
            self.retryBudget = retryBudget
            self.overdueAfter = overdueAfter
        }
    }

    /// The dependency's name, as logs and snapshots show it (`wechat`, `webhook:wh_…`).
    public let name: String
    public let configuration: Configuration
    private let now: @Sendable () -> ResilienceInstant
    private let random: @Sendable () -> Double
    private let onChange: @Sendable (DependencyBreakerChange) -> Void
    private let state: Mutex<State>

    private struct State {
        var throttle: AdaptiveThrottle
        var budget: RetryBudget
        var pending = PendingCalls()
        /// When the current refusing period began; nil while calls are not refused.
        var refusingSince: ResilienceInstant?
        var refusalsInPeriod = 0
        var totals = DependencyBreakerTotals()
    }

    /// - Parameters:
    ///   - now: the time source; tests pass a hand-moved one and never sleep.
    ///   - random: a uniform draw in `0..<1` for each admission decision.
    ///   - onChange: told when the breaker starts and stops refusing calls; called outside
    ///     the lock, from whichever caller saw the change.
    public init(
        name: String, configuration: Configuration = Configuration(),
        now: @escaping @Sendable () -> ResilienceInstant = { .now },
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        onChange: @escaping @Sendable (DependencyBreakerChange) -> Void = { _ in }
    ) {
        self.name = name
        self.configuration = configuration
        self.now = now
        self.random = random
        self.onChange = onChange
        state = Mutex(State(throttle: AdaptiveThrottle(configuration.throttle), budget: RetryBudget(configuration.retryBudget)))
    }

    /// Whether to make the call now: a ticket to go ahead with (then `record` the outcome
    /// or `abandon` it), or the refusal to fail fast with. An admitted `.first` call counts
    /// toward the retry budget; a `.retry` does not (its budget was spent by `grantRetry`).
    public func admit(_ call: DependencyCall = .first) throws(DependencyRefusal) -> DependencyTicket {
        let instant = now()
        let draw = random()
        let overdueAfter = configuration.overdueAfter
        let (refusal, change) = state.withLock { state -> (DependencyRefusal?, DependencyBreakerChange?) in
            let overdue = state.pending.overdue(now: instant, after: overdueAfter)
            guard state.throttle.shouldAttempt(now: instant, random: draw, pending: overdue) else {
                state.totals.refusals += 1
                state.refusalsInPeriod += 1
                let window = state.throttle.state(now: instant, pending: overdue)
                var change: DependencyBreakerChange?
                if state.refusingSince == nil {
                    state.refusingSince = instant
                    change = .startedRefusing(DependencyBreakerChange.Started(
                        dependency: name, rejectProbability: window.rejectProbability, requests: window.requests + overdue,
                        accepts: window.accepts))
                }
                return (DependencyRefusal(dependency: name, rejectProbability: window.rejectProbability), change)
            }
            if call == .first { state.budget.recordCall(now: instant) }
            state.pending.add(startedAt: instant)
            return (nil, Self.stopIfRecovered(&state, at: instant, overdueAfter: overdueAfter, name: name))
        }
        if let change { onChange(change) }
        if let refusal { throw refusal }
        return DependencyTicket(started: instant)
    }

    /// Spends one retry from the budget: false when retries already make up their share
    /// of the calls, and the caller gives up with the failure it has instead.
    public func grantRetry() -> Bool {
        let instant = now()
        return state.withLock { state in
            let granted = state.budget.canRetry(now: instant)
            if granted { state.totals.retries += 1 } else { state.totals.retriesDenied += 1 }
            return granted
        }
    }

    /// Reports what an admitted call's answer says about the dependency.
    public func record(_ outcome: DependencyOutcome, for ticket: DependencyTicket) {
        let instant = now()
        let overdueAfter = configuration.overdueAfter
        let change = state.withLock { state -> DependencyBreakerChange? in
            state.pending.remove(startedAt: ticket.started)
            switch outcome {
            case .accepted:
                state.totals.accepts += 1
                state.throttle.record(success: true, now: instant)
            case .failed:
                state.totals.failures += 1
                state.throttle.record(success: false, now: instant)
            }
            return Self.stopIfRecovered(&state, at: instant, overdueAfter: overdueAfter, name: name)
        }
        if let change { onChange(change) }
    }

    /// Forgets an admitted call that ended without saying anything about the dependency
    /// (cancelled at shutdown, or never sent after all).
    public func abandon(_ ticket: DependencyTicket) {
        state.withLock { $0.pending.remove(startedAt: ticket.started) }
    }

    /// Admits, runs and records one call. A refusal throws `refused(…)` without running
    /// `operation`; an error from `operation` counts as a failure when `isFailure` says so
    /// and as an answer otherwise; a call cut short by cancellation is not counted at all
    /// (it says nothing about the dependency).
    public func run<T>(
        _ call: DependencyCall = .first, refused: (DependencyRefusal) -> any Error, isFailure: (any Error) -> Bool,
        _ operation: () async throws -> T
    ) async throws -> T {
        let ticket: DependencyTicket
        do {
            ticket = try admit(call)
        } catch {
            throw refused(error)
        }
        do {
            let value = try await operation()
            record(.accepted, for: ticket)
            return value
        } catch {
            if error is CancellationError || Task.isCancelled {
                abandon(ticket)
            } else {
                record(isFailure(error) ? .failed : .accepted, for: ticket)
            }
            throw error
        }
    }

    /// What the breaker sees now, for logs, metrics and tests.
    public func snapshot() -> DependencyBreakerSnapshot {
        let instant = now()
        let overdueAfter = configuration.overdueAfter
        return state.withLock { state in
            let overdue = state.pending.overdue(now: instant, after: overdueAfter)
            let window = state.throttle.state(now: instant, pending: overdue)
            return DependencyBreakerSnapshot(
                dependency: name, requests: window.requests, accepts: window.accepts, refusals: window.rejected,
                rejectProbability: window.rejectProbability, isRefusing: state.refusingSince != nil,
                inFlight: state.pending.count, overdue: overdue,
                retryBudget: state.budget.state(now: instant), totals: state.totals)
        }
    }

    /// Ends a refusing period once the reject probability is back to zero.
    private static func stopIfRecovered(
        _ state: inout State, at instant: ResilienceInstant, overdueAfter: Duration, name: String
    ) -> DependencyBreakerChange? {
        guard let since = state.refusingSince else { return nil }
        let overdue = state.pending.overdue(now: instant, after: overdueAfter)
        guard state.throttle.state(now: instant, pending: overdue).rejectProbability == 0 else { return nil }
        let stopped = DependencyBreakerChange.Stopped(
            dependency: name, refusedFor: instant - since, refusals: state.refusalsInPeriod)
        state.refusingSince = nil
        state.refusalsInPeriod = 0
        return .stoppedRefusing(stopped)
    }
}

/// An admitted call, handed back with its outcome (the breaker tracks how long it waits).
public struct DependencyTicket: Sendable, Equatable {
    let started: ResilienceInstant
}

/// Whether a call is a first attempt or an immediate retry of one that failed.
public enum DependencyCall: Sendable, Equatable {
    case first
    case retry
}

/// What an admitted call's answer says about the dependency's health (not about the
/// request): `failed` only when the dependency could not take the call — no answer, a
/// timeout, an overload or server error. A refusal of the request itself (an invalid code,
/// an unknown order, a receiver's 4xx) is `accepted`: the dependency answered, and
/// refusing later calls locally would not make it answer differently.
public enum DependencyOutcome: Sendable, Equatable {
    case accepted
    case failed
}

/// A call refused locally, to fail fast with instead of waiting on a failing dependency.
public struct DependencyRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public var dependency: String
    /// The probability of refusal at the time of this one.
    public var rejectProbability: Double

    public init(dependency: String, rejectProbability: Double) {
        self.dependency = dependency
        self.rejectProbability = rejectProbability
    }

    public var description: String {
        "calls to \(dependency) are refused locally (reject probability \(DependencyBreakerChange.rounded(rejectProbability))): most recent calls failed"
    }
}

/// A breaker starting or stopping to refuse calls, reported once per change.
public enum DependencyBreakerChange: Sendable, Equatable {
    public struct Started: Sendable, Equatable {
        public var dependency: String
        public var rejectProbability: Double
        /// Attempted calls and accepted answers in the window that made it refuse.
        public var requests: Int
        public var accepts: Int

        public init(dependency: String, rejectProbability: Double, requests: Int, accepts: Int) {
            self.dependency = dependency
            self.rejectProbability = rejectProbability
            self.requests = requests
            self.accepts = accepts
        }
    }

    public struct Stopped: Sendable, Equatable {
        public var dependency: String
        /// From the first refusal to the moment the reject probability was zero again.
        public var refusedFor: Duration
        /// Calls refused in that time.
        public var refusals: Int

        public init(dependency: String, refusedFor: Duration, refusals: Int) {
            self.dependency = dependency
            self.refusedFor = refusedFor
            self.refusals = refusals
        }
    }

    case startedRefusing(Started)
    case stoppedRefusing(Stopped)

    /// A probability with two decimals, as logs show it.
    public static func rounded(_ probability: Double) -> Double {
        (probability * 100).rounded() / 100
    }
}

/// Counts since the breaker was made, for metrics (counters never go down).
public struct DependencyBreakerTotals: Sendable, Equatable {
    /// Admitted calls whose answer was an answer (including business refusals).
    public var accepts = 0
    /// Admitted calls the dependency could not take.
    public var failures = 0
    /// Calls refused locally.
    public var refusals = 0
    /// Immediate retries granted by the budget, and denied by it.
    public var retries = 0
    public var retriesDenied = 0

    public init() {}
}

/// What a breaker sees now.
public struct DependencyBreakerSnapshot: Sendable, Equatable {
    public var dependency: String
    /// Over the throttle's window: attempted calls, accepted answers, local refusals.
    public var requests: Int
    public var accepts: Int
    public var refusals: Int
    /// The probability that the next call is refused locally.
    public var rejectProbability: Double
    /// Whether a refusing period has begun and not been seen to end.
    public var isRefusing: Bool
    /// Calls admitted and not answered yet, and those of them waiting past `overdueAfter`
    /// (counted in `rejectProbability` as requests not accepted).
    public var inFlight: Int
    public var overdue: Int
    public var retryBudget: RetryBudgetState
    public var totals: DependencyBreakerTotals
}
