import Foundation
import Logging
import PostgresNIO
import SwiftletCore
@testable import SwiftletPostgres
import SwiftletSQLStorage
import Testing

/// A server that closes a connection while a result is still arriving (a restart, an
/// administrator's `pg_terminate_backend`, a cut network) must fail that query, not stop
/// the process. PostgresNIO 1.33.2 alone stops it (`ReadCompleteGuard` says why); this test
/// did, at 30,000 rows, before the guard.
@Suite("PostgreSQL connection closed in the middle of a result")
struct PostgresClosedMidResultTests {
    enum Outcome: Equatable {
        /// Every row, then the end of the result.
        case rows(Int)
        /// The query failed with the connection.
        case failed
        /// The storage gave up on the lease (`storage.unavailable`): a body still reading
        /// buffered rows 2 s after its connection closed counts as lost.
        case unavailable
    }

    /// 30,000 rows (about 3 MB) may all be in the sockets' buffers before the backend is
    /// terminated, and then arrive whole; 300,000 (about 33 MB) cannot, and the query fails.
    @Test("a backend terminated while its rows wait for the reader: the rows arrive whole or the query fails, the process goes on, the storage serves the next read",
          arguments: [30_000, 300_000])
    func terminatedMidResult(rowCount: Int) async throws {
        guard EngineKind.available.contains(.postgres) else { return }
        let storage = try await PostgresStorage.connect(
            PostgresStorageConfiguration(url: try TestStorage.postgresURL, maximumConnections: 2, leaseTimeout: .seconds(20)),
            logger: TestStorage.logger)
        do {
            let outcome = try await Self.readTerminatedMidResult(rowCount: rowCount, on: storage)
            if rowCount > 100_000 {
                #expect(outcome == .failed || outcome == .unavailable, "cut by the termination: \(outcome)")
            } else {
                #expect([.failed, .unavailable, .rows(rowCount)].contains(outcome), "whole or failed, never partial: \(outcome)")
            }
            #expect(try await Self.nextRead(on: storage) == 1, "the storage serves the next read")
            try await storage.shutdown()
        } catch {
            try? await storage.shutdown()
            throw error
        }
    }

    /// A read right after, retried as a client retries a 503: the pool may still hand out
    /// the terminated connection once, which the storage refuses with `storage.unavailable`.
    static func nextRead(on storage: PostgresStorage) async throws -> Int? {
        for _ in 0..<20 {
            do {
                return try await storage.performRead { db in
                    try await db.raw("SELECT 1 AS one").first()?.decode(column: "one", as: Int.self)
                }
            } catch let error as SwiftletError where error.code == "storage.unavailable" {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        return nil
    }

    /// Starts a result of `rowCount` rows on a pooled connection, reads one row, has another
    /// connection terminate the first one's backend, then reads on.
    static func readTerminatedMidResult(rowCount: Int, on storage: PostgresStorage) async throws -> Outcome {
        let logger = Logger(label: "closed-mid-result")
        do {
            return try await storage.withConnection { connection in
                let pid = try await connection.query("SELECT pg_backend_pid()", logger: logger).collect()[0].decode(Int32.self)
                // Far more than one read: the reader takes one row, so the rest waits in the
                // sockets, read only as the reader asks for more.
                let rows = try await connection.query(
                    "SELECT g, repeat('x', 100) FROM generate_series(1, \(rowCount)) g", logger: logger)
                var iterator = rows.makeAsyncIterator()
                _ = try await iterator.next()
                try await storage.performRead { db in
                    try await db.raw("SELECT pg_terminate_backend(\(bind: pid))").run()
                }
                // Reading on, the reader reaches the server's close while rows still wait for
                // its demand: NIO reads the rest of the socket and signals read-complete
                // unasked.
                var read = 1
                do {
                    while try await iterator.next() != nil { read += 1 }
                    return .rows(read)
                } catch {
                    return .failed
                }
            }
        } catch let error as SwiftletError where error.code == "storage.unavailable" {
            return .unavailable
        }
    }
}
