import Foundation
import Logging

/// What a job handler decided.
public enum JobOutcome: Sendable, Equatable {
    case done
    /// Not finished (e.g. the buyer is still paying): run again after this many seconds.
    case retry(after: TimeInterval)
}

public typealias JobHandler = @Sendable (ClaimedJob) async throws -> JobOutcome

/// Polls the durable job table and runs due jobs.
///
/// Jobs are leased, so several nodes can poll the same database and each job runs on
/// one of them at a time; a node that dies mid-job loses its lease and the job becomes
/// due again. A handler that runs longer than the lease keeps it by a heartbeat; if the
/// lease is lost all the same, its run is cancelled (see `JobWorker+Lease.swift`).
/// Handlers must be idempotent (the order handlers are: they go through the
/// state machine), because a job can run again after a crash between its effect and
/// its completion.
public struct JobWorker: Sendable {
    public struct Policy: Sendable, Equatable {
        public var pollInterval: TimeInterval
        public var lease: TimeInterval
        public var batchSize: Int
        /// Failed runs after which each further failure is logged as an error.
        public var maxAttempts: Int
        public init(pollInterval: TimeInterval = 1, lease: TimeInterval = 60, batchSize: Int = 16, maxAttempts: Int = 20) {
            self.pollInterval = pollInterval
            self.lease = lease
            self.batchSize = batchSize
            self.maxAttempts = maxAttempts
        }
    }

    let jobs: any JobRepository
    let handlers: [String: JobHandler]
    let clock: SwiftletClock
    /// One warning per outage (then one a minute), not one per poll.
    private let pollFailures: FailureStreakLog
    let policy: Policy
    let logger: Logger
    public let workerID: String
    /// Run metrics and spans (off unless the application turns them on).
    public var telemetry: JobTelemetry = .off

    public init(jobs: any JobRepository, handlers: [String: JobHandler], clock: SwiftletClock, policy: Policy, logger: Logger) {
        self.jobs = jobs
        self.handlers = handlers
        self.clock = clock
        self.pollFailures = FailureStreakLog("job poll failed", clock: clock)
        self.policy = policy
        self.logger = logger
        self.workerID = "w_" + RandomID.base32(byteCount: 8)
    }

    /// The kinds this worker has handlers for.
    public var kinds: [String] { handlers.keys.sorted() }

    /// Polls until the task is cancelled.
    public func run() async {
        while !Task.isCancelled {
            do {
                let ran = try await runDueJobs()
                pollFailures.succeeded(logger: logger)
                if ran == policy.batchSize { continue }
            } catch is CancellationError {
                return
            } catch {
                pollFailures.failed(error, logger: logger)
            }
            try? await Task.sleep(for: .milliseconds(Int64(policy.pollInterval * 1000)))
        }
    }

    /// Claims and runs one batch of due jobs; returns how many ran.
    @discardableResult
    public func runDueJobs() async throws -> Int {
        let now = clock.now
        let leaseUntil = now.addingTimeInterval(policy.lease)
        let claimed = try await jobs.claim(worker: workerID, now: now, leaseUntil: leaseUntil, limit: policy.batchSize)
        await withTaskGroup(of: Void.self) { group in
            for job in claimed {
                group.addTask { await self.execute(job, leaseUntil: leaseUntil) }
            }
        }
        return claimed.count
    }

    func execute(_ job: ClaimedJob, leaseUntil: Date) async {
        // A kind no handler knows is one of a bounded set only if it came from this code;
        // anything else is counted as `unknown`.
        guard let handler = handlers[job.kind] else {
            telemetry.record(kind: "unknown", outcome: .failed, since: nil)
            try? await jobs.fail(job.id, worker: workerID, error: "no handler for \(job.kind)")
            return
        }
        await telemetry.run(kind: job.kind) { await execute(job, handler, leaseUntil: leaseUntil) }
    }

    private func execute(_ job: ClaimedJob, _ handler: @escaping JobHandler, leaseUntil: Date) async {
        let started = ContinuousClock.now
        guard case .finished(let result) = await runHoldingLease(job, leaseUntil: leaseUntil, handler) else {
            // Another node may be running the job now; this run's outcome must not count.
            logger.warning("job lease lost; its run was cancelled", metadata: [
                "kind": .string(job.kind), "key": .string(job.key), "attempt": .stringConvertible(job.attempt),
            ])
            return
        }
        do {
            switch try result.get() {
            case .done:
                try await jobs.complete(job.id, worker: workerID)
            case .retry(let delay):
                try await jobs.retry(job.id, worker: workerID, at: clock.now.addingTimeInterval(delay), error: nil, failed: false)
            }
            telemetry.record(kind: job.kind, outcome: .succeeded, since: started)
        } catch {
            telemetry.record(kind: job.kind, outcome: job.attempt >= policy.maxAttempts ? .failed : .retried, since: started)
            // Jobs here move money and stock, so they are never dropped: they back off
            // (2 s, 4 s, … capped at 5 minutes) and, past `maxAttempts` failures, every
            // further failure is logged as an error for someone to look at.
            // Logged and stored in the job row: the safe description, never the driver's.
            let message = ErrorLog.describe(error)
            let delay = min(300, pow(2, Double(min(job.attempt, 16))))
            let metadata: Logger.Metadata = [
                "kind": .string(job.kind), "key": .string(job.key), "attempt": .stringConvertible(job.attempt),
                "error": .string(message),
            ]
            if job.attempt >= policy.maxAttempts {
                logger.error("job keeps failing", metadata: metadata)
            } else {
                logger.warning("job failed, will retry", metadata: metadata)
            }
            try? await jobs.retry(job.id, worker: workerID, at: clock.now.addingTimeInterval(delay), error: message, failed: true)
        }
    }
}

/// The commerce jobs: unpaid-order timeouts and refund follow-ups.
public enum CommerceJobs {
    public static func handlers(payments: PaymentService, refunds: RefundService) -> [String: JobHandler] {
        [
            OrderService.timeoutJobKind: { job in
                switch try await payments.closeExpired(OrderID(rawValue: job.payload)) {
                case .paymentInProgress:
                    return .retry(after: 30)
                case .paid(let order) where order.status == .pendingPayment:
                    // WeChat says paid but the payment did not match the order (logged as
                    // an error): keep the stock and look again later, never close it.
                    return .retry(after: 600)
                case .cancelled, .paid, .unchanged, .orderMissing:
                    return .done
                }
            },
            RefundService.queryJobKind: { job in
                try await refunds.followUp(RefundID(rawValue: job.payload)).map { .retry(after: $0) } ?? .done
            },
        ]
    }
}

/// Housekeeping that keeps tables from growing without bound: finished jobs older than a
/// week and expired token revocations are deleted once a day. It is one recurring job
/// (`maintenance.prune`, key `daily`), so in a cluster one node does it per day.
public enum MaintenanceJobs {
    public static let kind = "maintenance.prune"
    static let interval: TimeInterval = 86_400
    static let keepFinished: TimeInterval = 7 * 86_400

    /// Schedules the daily run if no node has yet (enqueueing is a no-op then).
    public static func schedule(jobs: any JobRepository, clock: SwiftletClock) async throws {
        try await jobs.enqueue(JobRequest(kind: kind, key: "daily", payload: "", runAt: clock.now.addingTimeInterval(60)))
    }

    public static func handlers(jobs: any JobRepository, sessions: any SessionRepository, clock: SwiftletClock,
                                logger: Logger) -> [String: JobHandler] {
        [
            kind: { _ in
                let now = clock.now
                let finished = try await jobs.pruneFinished(before: now.addingTimeInterval(-keepFinished))
                let revocations = try await sessions.pruneRevocations(before: now)
                logger.info("pruned", metadata: [
                    "finishedJobs": .stringConvertible(finished), "expiredRevocations": .stringConvertible(revocations),
                ])
                return .retry(after: interval)
            },
        ]
    }
}
