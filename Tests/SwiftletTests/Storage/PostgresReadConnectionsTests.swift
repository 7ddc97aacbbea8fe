import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import SwiftletCore
@testable import SwiftletPostgres
import SwiftletSQLStorage
import Testing

/// The buyer's catalogue reads on PostgreSQL run on connections of their own beside the
/// pool (`PostgresReadConnections`), without a lease. They must read what the pool reads,
/// recover from a lost connection, and hand every read they cannot take (no connection,
/// full queues, shut down) to the pool rather than fail it.
@Suite("PostgreSQL read connections beside the pool")
struct PostgresReadConnectionsTests {
    /// The backend of the storage's one read connection. Read under a shape the catalogue
    /// never uses there (the shape only names the prepared query per connection).
    static func readBackend(_ storage: PostgresStorage) async throws -> Int64 {
        let values = try await storage.readConnections.values(.orderSnapshot, sql: "SELECT pg_backend_pid()::int8", binds: []).get()
        return try #require(values.first).int64(0)
    }

    @Test("the catalogue's shapes are read on the read connections (not the pool), with the same values the pool reads")
    func readsBesideThePool() async throws {
        guard EngineKind.available.contains(.postgres) else { return }
        try await PostgresLoopReadsTests.withSeededCatalogue(readConnections: 2) { storage, catalog, _ in
            let page = try await catalog.list(includeOffShelf: false, limit: 10, cursor: nil)
            let poolPage = try await catalog.list(includeOffShelf: true, limit: 10, cursor: nil)
            #expect(page.items.map(\.id) == PostgresLoopReadsTests.newestFirst)
            #expect(page.items == poolPage.items)
            let first = try await catalog.list(includeOffShelf: false, limit: 1, cursor: nil)
            #expect(try await catalog.list(includeOffShelf: false, limit: 1, cursor: first.nextCursor).items.map(\.id)
                == [PostgresLoopReadsTests.newestFirst[1]])
            let tea = try #require(page.items.last)
            #expect(try await catalog.find(tea.id, includeOffShelf: false) == tea)

            #expect(storage.readConnections.reads.prepared.count >= 1)
            #expect(storage.loopReads.prepared.count == 0, "no catalogue read went through the pool")
            #expect(await storage.readConnections.openCount() >= 1)
        }
    }

    @Test("a read connection terminated by the server: reads go on (on a new connection, or the pool meanwhile), never hang")
    func terminatedConnection() async throws {
        guard EngineKind.available.contains(.postgres) else { return }
        try await PostgresLoopReadsTests.withSeededCatalogue(readConnections: 1) { storage, catalog, _ in
            _ = try await catalog.list(includeOffShelf: false, limit: 10, cursor: nil)
            let before = try await Self.readBackend(storage)
            try await PostgresSchemas.admin { admin in
                try await admin.query("SELECT pg_terminate_backend(\(Int32(before)))", logger: TestStorage.logger)
            }
            var served = 0
            for _ in 0..<20 {
                do {
                    served += try await catalog.list(includeOffShelf: false, limit: 10, cursor: nil).items.count == 3 ? 1 : 0
                } catch let error as SwiftletError where error.code == "storage.unavailable" {
                    // The read that met the closing connection.
                }
            }
            #expect(served >= 19)
            #expect(try await Self.readBackend(storage) != before, "the lost connection was replaced")
            #expect(storage.loopReads.prepared.count == 0, "reads went on beside the pool")
        }
    }

    @Test("reads a loop cannot take go to the pool: none configured, the server unreachable, every queue full, shut down")
    func declinedReads() async throws {
        let logger = TestStorage.logger
        func declined(_ future: EventLoopFuture<[SQLValues]>) async -> Bool {
            do {
                _ = try await future.get()
                return false
            } catch {
                return error is SQLLoopReadDeclined
            }
        }
        let none = PostgresReadConnections(
            count: 0, configuration: .init(host: "127.0.0.1", port: 1, username: "x", password: nil, database: nil, tls: .disable),
            readTimeout: .seconds(5), guards: ReadCompleteGuards(logger: logger), logger: logger)
        #expect(none.isEmpty)
        #expect(await declined(none.values(.cataloguePage, sql: "SELECT 1::int8", binds: [])))

        // Nothing listens on the port: the connection fails, the read is declined, and so
        // are reads within the retry delay (they do not try again).
        let closedPort = try await Self.closedPort()
        var unreachable = PostgresConnection.Configuration(
            host: "127.0.0.1", port: closedPort, username: "x", password: nil, database: nil, tls: .disable)
        unreachable.options.connectTimeout = .seconds(2)
        let down = PostgresReadConnections(
            count: 1, configuration: unreachable, readTimeout: .seconds(5), guards: ReadCompleteGuards(logger: logger), logger: logger)
        #expect(await declined(down.values(.cataloguePage, sql: "SELECT 1::int8", binds: [])))
        #expect(await declined(down.values(.cataloguePage, sql: "SELECT 1::int8", binds: [])))
        #expect(await down.openCount() == 0)
        await down.shutdown()

        guard EngineKind.available.contains(.postgres) else { return }
        let url = try TestStorage.postgresURL
        let reachable = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: .disable)
        let one = PostgresReadConnections(
            count: 1, configuration: reachable, readTimeout: .seconds(20), guards: ReadCompleteGuards(logger: logger), logger: logger)
        let slow = "SELECT 1::int8 FROM pg_sleep(0.1)"
        let queued = (0..<PostgresReadConnections.maximumQueued).map { _ in one.values(.catalogueProduct, sql: slow, binds: []) }
        #expect(await declined(one.values(.catalogueProduct, sql: slow, binds: [])), "a full queue hands the read on")
        for read in queued {
            #expect(try await read.get().count == 1)
        }
        #expect(try await one.values(.catalogueProduct, sql: slow, binds: []).get().count == 1, "room again once the queue drained")
        await one.shutdown()
        #expect(await one.openCount() == 0)
        #expect(await declined(one.values(.catalogueProduct, sql: slow, binds: [])))
    }

    @Test("a read that outlives the read timeout is storage.unavailable, its connection is closed, and the next read gets a new one")
    func readTimeout() async throws {
        guard EngineKind.available.contains(.postgres) else { return }
        let logger = TestStorage.logger
        let url = try TestStorage.postgresURL
        let reachable = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: .disable)
        // The timeout also bounds the next read's connect: 2 s, so a loaded machine's slow
        // backend start does not time that one out too.
        let one = PostgresReadConnections(
            count: 1, configuration: reachable, readTimeout: .seconds(2), guards: ReadCompleteGuards(logger: logger),
            logger: logger)
        do {
            _ = try await one.values(.catalogueProduct, sql: "SELECT 1::int8 FROM pg_sleep(5)", binds: []).get()
            Issue.record("a read past its timeout succeeded")
        } catch let error as SwiftletError {
            #expect(error.code == "storage.unavailable")
        }
        #expect(try await one.values(.catalogueProduct, sql: "SELECT 2::int8", binds: []).get().first?.int(0) == 2)
        await one.shutdown()
    }

    /// A loopback port nothing listens on (bound, then closed).
    static func closedPort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 1
        try await channel.close()
        return port
    }
}
