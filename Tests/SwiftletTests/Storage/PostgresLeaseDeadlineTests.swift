import Foundation
import Logging
import PostgresNIO
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
        deadlines.add(deadlines.reserveID(), until: start + .milliseconds(100)) { fired.withLock { $0.append("early") } }
        deadlines.add(deadlines.reserveID(), until: start + .seconds(5)) { fired.withLock { $0.append("late") } }
        let removed = deadlines.reserveID()
        deadlines.add(removed, until: start + .milliseconds(50)) { fired.withLock { $0.append("removed") } }
        deadlines.remove(removed)

        #expect(deadlines.expire(now: start) == 0)
        #expect(deadlines.expire(now: start + .milliseconds(100)) == 1)
        #expect(deadlines.expire(now: start + .milliseconds(200)) == 0, "a lease gives up once")
        #expect(fired.withLock { $0 } == ["early"])
        #expect(deadlines.expire(now: start + .seconds(6)) == 1)
        #expect(fired.withLock { $0 } == ["early", "late"])
    }

    @Test("a held connection closed for the grace is declared lost once; one that reopens, or whose lease ended, never is")
    func closedConnectionsAreLostAfterTheGrace() {
        let deadlines = LeaseDeadlines(closedConnectionGrace: .milliseconds(500))
        let closed = Mutex<[String: Bool]>(["dead": false, "flapping": false, "finished": false])
        let lost = Mutex<[String]>([])
        let start = ContinuousClock.now
        var ids: [String: UInt64] = [:]
        for name in ["dead", "flapping", "finished"] {
            let id = deadlines.reserveID()
            deadlines.add(id, until: start + .milliseconds(100)) { lost.withLock { $0.append("\(name) gave up") } }
            deadlines.hold(id, isClosed: { closed.withLock { $0[name]! } }, lost: { lost.withLock { $0.append(name) } })
            ids[name] = id
        }
        #expect(deadlines.expire(now: start + .seconds(1)) == 0, "a held lease's wait deadline no longer counts")

        closed.withLock { $0 = ["dead": true, "flapping": true, "finished": true] }
        deadlines.remove(ids["finished"]!)
        #expect(deadlines.expire(now: start + .seconds(2)) == 0, "closed from here on")
        closed.withLock { $0["flapping"] = false }
        #expect(deadlines.expire(now: start + .milliseconds(2_300)) == 0, "not before the grace")
        closed.withLock { $0["flapping"] = true }
        #expect(deadlines.expire(now: start + .milliseconds(2_400)) == 0, "reopened: its grace starts again")
        #expect(deadlines.expire(now: start + .milliseconds(2_500)) == 1)
        #expect(lost.withLock { $0 } == ["dead"])
        #expect(deadlines.expire(now: start + .milliseconds(2_900)) == 1)
        #expect(deadlines.expire(now: start + .seconds(10)) == 0, "each once")
        #expect(lost.withLock { $0 } == ["dead", "flapping"])
    }

    /// The hang this guards against: NIO takes a closed channel's handlers away, and
    /// PostgresNIO writes a statement to its channel with nobody to fail its answer, so a
    /// statement sent after the close waits forever. A database restart or a cut network
    /// between the pool's lease and a transaction's next statement does exactly that.
    @Test("a statement written to a connection after it closed answers ConnectionLost near the grace instead of never")
    func statementOnAClosedConnectionIsLost() async throws {
        guard EngineKind.available.contains(.postgres) else { return }
        let url = try TestStorage.postgresURL
        let client = PostgresClient(configuration: PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password,
            database: url.database, tls: .disable))
        let run = Task { await client.run() }
        let deadlines = LeaseDeadlines(closedConnectionGrace: .milliseconds(300))
        let watcher = Task { await deadlines.watch() }
        defer {
            run.cancel()
            watcher.cancel()
        }
        let logger = Logger(label: "lease-test")
        let closedAt = Mutex<ContinuousClock.Instant?>(nil)
        do {
            // A long wait for the first connection: a loaded machine is slow to make it, and
            // that wait is not what is tested here.
            _ = try await PostgresConnectionLease.with(client, timeout: .seconds(30), deadlines: deadlines) { connection in
                // Taken before the close: the grace starts when the close is seen, which
                // can be before this task resumes after it.
                closedAt.withLock { $0 = .now }
                try await connection.close()
                // The handlers go a loop turn after the close.
                try await Task.sleep(for: .milliseconds(100))
                return try await connection.query("SELECT 1", logger: logger).collect().count
            }
            Issue.record("a statement on a closed connection answered")
        } catch is PostgresConnectionLease.ConnectionLost {
            let waited = ContinuousClock.now - (try #require(closedAt.withLock { $0 }))
            #expect(waited >= .milliseconds(300), "not before the grace: \(waited)")
            #expect(waited < .seconds(5), "soon after it (generous: the test command runs suites in parallel): \(waited)")
        }
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
