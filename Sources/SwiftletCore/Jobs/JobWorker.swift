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
/// due again. Handlers must be idempotent (the order handlers are: they go through the
/// state machine), because a job can run again after a crash between its effect and
/// its completion.
public struct JobWorker: Sendable {
    public struct Policy: Sendable, Equatable {
        public var pollInterval: TimeInterval
        public var lease: TimeInterval
        public var batchSize: Int
        /// Failed runs before a job is given up on (kept as `failed` for inspection).
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
    let policy: Policy
    let logger: Logger
    public let workerID: String

    public init(jobs: any JobRepository, handlers: [String: JobHandler], clock: SwiftletClock, policy: Policy, logger: Logger) {
        self.jobs = jobs
        self.handlers = handlers
        self.clock = clock
        self.policy = policy
        self.logger = logger
        self.workerID = "w_" + RandomID.base32(byteCount: 8)
    }

    /// Polls until the task is cancelled.
    public func run() async {
        while !Task.isCancelled {
            do {
                let ran = try await runDueJobs()
                if ran == policy.batchSize { continue }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("job poll failed", metadata: ["error": .string(String(describing: error))])
            }
            try? await Task.sleep(for: .milliseconds(Int64(policy.pollInterval * 1000)))
        }
    }

    /// Claims and runs one batch of due jobs; returns how many ran.
    @discardableResult
    public func runDueJobs() async throws -> Int {
        let now = clock.now
        let claimed = try await jobs.claim(worker: workerID, now: now, leaseUntil: now.addingTimeInterval(policy.lease),
                                           limit: policy.batchSize)
        await withTaskGroup(of: Void.self) { group in
            for job in claimed {
                group.addTask { await self.execute(job) }
            }
        }
        return claimed.count
    }

    func execute(_ job: ClaimedJob) async {
        guard let handler = handlers[job.kind] else {
            try? await jobs.fail(job.id, worker: workerID, error: "no handler for \(job.kind)")
            return
        }
        do {
            switch try await handler(job) {
            case .done:
                try await jobs.complete(job.id, worker: workerID)
            case .retry(let delay):
                try await jobs.retry(job.id, worker: workerID, at: clock.now.addingTimeInterval(delay), error: "not finished")
            }
        } catch {
            let message = String(describing: error)
            if job.attempt >= policy.maxAttempts {
                logger.error("job failed for good", metadata: ["kind": .string(job.kind), "key": .string(job.key), "error": .string(message)])
                try? await jobs.fail(job.id, worker: workerID, error: message)
            } else {
                // Exponential backoff: 2 s, 4 s, … capped at 5 minutes.
                let delay = min(300, pow(2, Double(job.attempt)))
                logger.warning("job failed, will retry", metadata: [
                    "kind": .string(job.kind), "key": .string(job.key), "attempt": .stringConvertible(job.attempt),
                    "error": .string(message),
                ])
                try? await jobs.retry(job.id, worker: workerID, at: clock.now.addingTimeInterval(delay), error: message)
            }
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
                case .cancelled, .paid, .unchanged, .orderMissing:
                    return .done
                }
            },
            RefundService.queryJobKind: { job in
                try await refunds.followUp(RefundID(rawValue: job.payload)) ? .done : .retry(after: 60)
            },
        ]
    }
}
