import Foundation
import Logging

/// Keeping a job's lease while its handler runs.
///
/// A claim leases a job for `jobs.lease`; a handler that takes longer (WeChat Pay slow to
/// answer, a large prune) would otherwise let a second node claim the job and run it at
/// the same time. So while the handler runs, a heartbeat extends the lease every third of
/// its length with a write that succeeds only while the lease is still this worker's. If
/// it fails (another node claimed the job after the lease lapsed, e.g. this process was
/// paused or the database unreachable for longer than the lease), the handler's task is
/// cancelled, so its remaining side effects stop at its next suspension point, and its
/// outcome is not recorded.
extension JobWorker {
    /// How a handler's run ended.
    enum LeasedRun: Sendable {
        case finished(Result<JobOutcome, any Error>)
        /// The lease was lost first; the handler was cancelled and its outcome dropped.
        case leaseLost
    }

    /// Runs `handler` while holding `job`'s lease, which currently ends at `leaseUntil`.
    func runHoldingLease(_ job: ClaimedJob, leaseUntil: Date, _ handler: @escaping JobHandler) async -> LeasedRun {
        await withTaskGroup(of: LeasedRun?.self) { group in
            group.addTask {
                do {
                    return .finished(.success(try await handler(job)))
                } catch {
                    return .finished(.failure(error))
                }
            }
            group.addTask {
                await self.holdLease(job, until: leaseUntil) ? .leaseLost : nil
            }
            // The first answer decides; the other task is cancelled, and the group waits
            // for it, so no heartbeat write and no handler effect outlives this call.
            for await run in group {
                if let run {
                    group.cancelAll()
                    return run
                }
            }
            // Not reached: the handler's task always answers.
            return .leaseLost
        }
    }

    /// Extends the lease every `lease / 3` until cancelled (false: the handler finished)
    /// or until the lease is lost (true). A failed write is retried at the next beat while
    /// the lease still has time left, and counts as lost once it has run out.
    func holdLease(_ job: ClaimedJob, until initial: Date) async -> Bool {
        var heldUntil = initial
        // At least 10 ms apart, so a tiny configured lease cannot turn this into a busy loop.
        let beat = Duration.milliseconds(max(10, Int64(policy.lease * 1000 / 3)))
        while true {
            do {
                try await Task.sleep(for: beat)
            } catch {
                return false
            }
            let now = clock.now
            let next = now.addingTimeInterval(policy.lease)
            do {
                guard try await jobs.extendLease(job.id, worker: workerID, until: next, now: now) else { return true }
                heldUntil = next
            } catch {
                if Task.isCancelled { return false }
                if clock.now >= heldUntil { return true }
                logger.warning("job lease could not be extended; trying again", metadata: [
                    "kind": .string(job.kind), "key": .string(job.key), "error": .string(ErrorLog.describe(error)),
                ])
            }
        }
    }
}
