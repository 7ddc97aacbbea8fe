import Foundation
import SwiftletCore
@testable import SwiftletPostgres
import SwiftletSQLStorage
import Synchronization
import Testing

/// A request waiting for a pooled PostgreSQL connection gives up at its deadline with
/// `storage.unavailable`, watched by the storage's one `LeaseDeadlines` rather than a
/// timer per lease.
@Suite("PostgreSQL lease deadlines")
struct PostgresLeaseDeadlineTests {
    @Test("only leases past their deadline give up, each once; a removed lease never does")
    func expiresWhatIsDue() {
        let deadlines = LeaseDeadlines()
        let fired = Mutex<[String]>([])
        let start = ContinuousClock.now
        _ = deadlines.add(until: start + .milliseconds(100)) { fired.withLock { $0.append("early") } }
        _ = deadlines.add(until: start + .seconds(5)) { fired.withLock { $0.append("late") } }
        let removed = deadlines.add(until: start + .milliseconds(50)) { fired.withLock { $0.append("removed") } }
        deadlines.remove(removed)

        #expect(deadlines.expire(now: start) == 0)
        #expect(deadlines.expire(now: start + .milliseconds(100)) == 1)
        #expect(deadlines.expire(now: start + .milliseconds(200)) == 0, "a lease gives up once")
        #expect(fired.withLock { $0 } == ["early"])
        #expect(deadlines.expire(now: start + .seconds(6)) == 1)
        #expect(fired.withLock { $0 } == ["early", "late"])
    }

    @Test("with the pool's only connection held, a read answers storage.unavailable near its deadline, and works once it is free")
    func exhaustedPoolGivesUp() async throws {
        guard EngineKind.available.contains(.postgres) else { return }
        let schema = "t_" + RandomID.base32(byteCount: 8)
        try await PostgresSchemas.create(schema)
        let storage = try await PostgresStorage.connect(
            PostgresStorageConfiguration(url: try TestStorage.postgresURL, maximumConnections: 1, leaseTimeout: .milliseconds(300),
                                         startupParameters: [("search_path", schema)]),
            logger: TestStorage.logger)
        do {
            let (held, heldContinuation) = AsyncStream<Void>.makeStream()
            let (release, releaseContinuation) = AsyncStream<Void>.makeStream()
            let holder = Task {
                try await storage.performRead { _ in
                    heldContinuation.yield()
                    for await _ in release { break }
                }
            }
            for await _ in held { break }

            let started = ContinuousClock.now
            do {
                _ = try await storage.performValues(nil, "SELECT 1")
                Issue.record("a read got a connection the holder still has")
            } catch let error as SwiftletError {
                #expect(error.code == "storage.unavailable")
            }
            let waited = ContinuousClock.now - started
            #expect(waited >= .milliseconds(300), "not before the deadline: \(waited)")
            #expect(waited < .seconds(5), "soon after it (generous: the test command runs suites in parallel): \(waited)")

            releaseContinuation.yield()
            try await holder.value
            let values = try await storage.performValues(nil, "SELECT 1")
            #expect(values.count == 1, "the connection serves the next caller")
            try await storage.shutdown()
            try await PostgresSchemas.drop(schema)
        } catch {
            try? await storage.shutdown()
            try? await PostgresSchemas.drop(schema)
            throw error
        }
    }
}
