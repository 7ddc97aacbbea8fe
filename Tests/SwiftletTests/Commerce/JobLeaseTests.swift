import Foundation
import Logging
import SwiftletCore
import Synchronization
import Testing

/// A job slower than its lease, with two workers on one database: the running worker
/// keeps the lease by heartbeat, and a worker that lost it anyway stops.
@Suite("Job leases")
struct JobLeaseTests {
    static let kind = "test.slow"

    /// What the handlers did, in order.
    final class Journal: Sendable {
        private let entries = Mutex<[String]>([])
        private let released = Mutex(false)
        var all: [String] { entries.withLock { $0 } }
        func note(_ entry: String) { entries.withLock { $0.append(entry) } }
        func release() { released.withLock { $0 = true } }

        /// Sleeps until `release()` or, at the latest, `limit` (so a failing test ends);
        /// throws if cancelled first.
        func waitForRelease(limit: Duration = .seconds(5)) async throws {
            let deadline = ContinuousClock.now + limit
            while !released.withLock({ $0 }), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
        }

        func eventually(_ entry: String) async throws {
            let deadline = ContinuousClock.now + .seconds(5)
            while !all.contains(entry), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    /// A handler that notes its start, works until released (or cancelled), then notes its effect.
    static func slowHandler(_ name: String, _ journal: Journal) -> JobHandler {
        { _ in
            journal.note("start \(name)")
            do {
                try await journal.waitForRelease()
            } catch {
                journal.note("cancelled \(name)")
                throw error
            }
            journal.note("effect \(name)")
            return .done
        }
    }

    @Test("a handler slower than the lease runs once on two workers: the heartbeat keeps the lease", arguments: EngineKind.available)
    func heartbeatKeepsTheLease(_ kind: EngineKind) async throws {
        let time = MutableClock(Date(timeIntervalSince1970: 1_800_000_000))
        try await TestStorage.withStorage(kind, clock: time.clock) { storage in
            let jobs = storage.jobs
            try await jobs.enqueue(JobRequest(kind: Self.kind, key: "1", payload: "", runAt: time.now))
            let journal = Journal()
            let policy = JobWorker.Policy(lease: 0.45)
            let first = JobWorker(jobs: jobs, handlers: [Self.kind: Self.slowHandler("first", journal)], clock: time.clock,
                                  policy: policy, logger: TestStorage.logger)
            let second = JobWorker(jobs: jobs, handlers: [Self.kind: Self.slowHandler("second", journal)], clock: time.clock,
                                   policy: policy, logger: TestStorage.logger)
            let running = Task { try await first.runDueJobs() }
            try await journal.eventually("start first")

            // The handler runs for 1.2 s of (injected) time, almost three leases; each step
            // waits long enough in real time for heartbeats (every 0.15 s) to extend it.
            for _ in 0..<4 {
                time.advance(0.3)
                try await Task.sleep(for: .milliseconds(400))
                #expect(try await second.runDueJobs() == 0, "the lease is still the first worker's")
            }
            journal.release()
            #expect(try await running.value == 1)
            #expect(journal.all == ["start first", "effect first"], "ran once")
            #expect(try await jobs.pendingCount(kind: Self.kind) == 0, "and its completion counted")
            time.advance(3600)
            #expect(try await second.runDueJobs() == 0)
        }
    }

    @Test("a worker whose lease was taken over cancels its handler and records nothing", arguments: EngineKind.available)
    func lostLeaseCancelsTheHandler(_ kind: EngineKind) async throws {
        let time = MutableClock(Date(timeIntervalSince1970: 1_800_000_000))
        // To the second node the first one's lease has long lapsed, as after a pause of the
        // first node's process longer than the lease.
        let later = MutableClock(time.now.addingTimeInterval(3600))
        let logs = LogRecorder()
        try await TestStorage.withStorage(kind, clock: time.clock) { storage in
            let jobs = storage.jobs
            try await jobs.enqueue(JobRequest(kind: Self.kind, key: "1", payload: "", runAt: time.now))
            let journal = Journal()
            let policy = JobWorker.Policy(lease: 0.3)
            let first = JobWorker(jobs: jobs, handlers: [Self.kind: Self.slowHandler("first", journal)], clock: time.clock,
                                  policy: policy, logger: logs.logger)
            let second = JobWorker(jobs: jobs, handlers: [Self.kind: { _ in journal.note("effect second"); return .done }],
                                   clock: later.clock, policy: policy, logger: logs.logger)
            let running = Task { try await first.runDueJobs() }
            try await journal.eventually("start first")

            #expect(try await second.runDueJobs() == 1, "the second node takes the lapsed job over")
            let started = ContinuousClock.now
            #expect(try await running.value == 1)
            #expect(ContinuousClock.now - started < .seconds(2), "the first run stops within a heartbeat, not at its end")
            #expect(journal.all.contains("cancelled first"))
            #expect(!journal.all.contains("effect first"), "the lost run's side effects stop")
            #expect(journal.all.filter { $0.hasPrefix("effect") } == ["effect second"])
            #expect(try await jobs.pendingCount(kind: Self.kind) == 0, "the second node's completion stands")
            let messages = logs.logged.map(\.message)
            #expect(messages.contains("job lease lost; its run was cancelled"))
            #expect(!messages.contains("job failed, will retry"), "the cancelled run is not counted as a failure")
        }
    }
}
