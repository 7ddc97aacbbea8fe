import Foundation
import Logging
import SwiftletCore
import Testing

@Suite("Maintenance job")
struct MaintenanceJobTests {
    @Test("old finished jobs and expired revocations are pruned daily; the job recurs", arguments: EngineKind.available)
    func prunes(_ kind: EngineKind) async throws {
        let time = MutableClock(Date(timeIntervalSince1970: 1_800_000_000))
        try await TestStorage.withStorage(kind, clock: time.clock) { storage in
            let jobs = storage.jobs
            try await jobs.enqueue(JobRequest(kind: "test.old", key: "1", payload: "", runAt: time.now))
            try await jobs.enqueue(JobRequest(kind: "test.pending", key: "1", payload: "", runAt: time.now.addingTimeInterval(86_400 * 30)))
            try await storage.sessions.recordRevocation(Revocation(kind: .session, value: "s_gone", expiresAt: time.now.addingTimeInterval(60)))
            try await storage.sessions.recordRevocation(Revocation(kind: .session, value: "s_kept", expiresAt: time.now.addingTimeInterval(86_400 * 30)))
            let worker = JobWorker(
                jobs: jobs,
                handlers: MaintenanceJobs.handlers(jobs: jobs, sessions: storage.sessions, clock: time.clock, logger: TestStorage.logger)
                    .merging(["test.old": { _ in .done }]) { first, _ in first },
                clock: time.clock, policy: .init(), logger: TestStorage.logger)
            #expect(try await worker.runDueJobs() == 1, "the old job runs and is done")

            time.advance(8 * 86_400)
            try await MaintenanceJobs.schedule(jobs: jobs, clock: time.clock)
            try await MaintenanceJobs.schedule(jobs: jobs, clock: time.clock)  // a second node: no second job
            time.advance(61)
            #expect(try await worker.runDueJobs() == 1)
            #expect(try await jobs.pendingCount(kind: "test.pending") == 1, "pending jobs are never pruned")
            #expect(try await jobs.pruneFinished(before: time.now) == 0, "the week-old finished job is already gone")
            let revocations = try await storage.sessions.activeRevocations(now: Date(timeIntervalSince1970: 0))
            #expect(revocations.map(\.value) == ["s_kept"])
            #expect(try await jobs.pendingCount(kind: MaintenanceJobs.kind) == 1, "scheduled again for tomorrow")
            #expect(try await worker.runDueJobs() == 0)
            time.advance(86_400)
            #expect(try await worker.runDueJobs() == 1)
        }
    }
}
