import Foundation
import Logging
import NIOPosix
import SQLiteNIO
@testable import SwiftletSQLite
import SwiftletSQLStorage
import Testing

/// A group-commit batch on the writer's own handle: statements prepared once, each one
/// all-or-nothing for its caller, any other failure undoing the whole batch.
@Suite("SQLite writer statements")
struct SQLiteWriterStatementsTests {
    static let table = "CREATE TABLE items (id TEXT PRIMARY KEY, name TEXT NOT NULL, quantity INTEGER, price REAL, data BLOB)"
    static let insert = "INSERT INTO items (id, name, quantity, price, data) VALUES (?, ?, ?, ?, ?)"

    static func row(_ id: String, _ name: String?) -> (sql: String, binds: [SQLiteData]) {
        (insert, [.text(id), name.map { .text($0) } ?? .null, .integer(3), .float(1.5), .blob(.init(bytes: [1, 2]))])
    }

    /// A unique-index refusal fails alone, as the engine classifies it.
    @Sendable static func uniqueFailsAlone(_ failure: SQLiteStatementFailure) -> Bool {
        failure.code == 2067 || failure.code == 1555
    }

    @Test("refused statements fail alone, the rest commit; statements are prepared once and reused")
    func refusalsFailAlone() async throws {
        try await Self.withConnection { connection, threadPool in
            let statements = try #require(SQLiteWriterStatements(connection), "the handle is reachable")
            let outcome = try await threadPool.runIfActive {
                statements.runBatch([Self.row("a", "tea"), Self.row("a", "again"), Self.row("b", "cup")], failsAlone: Self.uniqueFailsAlone)
            }
            guard case .done(let results) = outcome else { Issue.record("expected a commit: \(outcome)"); return }
            #expect(results.map { (try? $0.get()) != nil } == [true, false, true])
            #expect(try await Self.ids(connection) == ["a", "b"])
            let second = try await threadPool.runIfActive {
                statements.runBatch([Self.row("c", "pot"), Self.row("d", "lid")], failsAlone: Self.uniqueFailsAlone)
            }
            guard case .done = second else { Issue.record("expected a commit: \(second)"); return }
            // BEGIN IMMEDIATE, the insert, COMMIT: kept across batches, not prepared again.
            #expect(try await threadPool.runIfActive { statements.preparedCount } == 3)
            #expect(try await Self.ids(connection) == ["a", "b", "c", "d"])
            try await threadPool.runIfActive { statements.finalizeAll() }
        }
    }

    @Test("any other failure undoes the whole batch, and the connection is outside any transaction after")
    func otherFailureUndoesAll() async throws {
        try await Self.withConnection { connection, threadPool in
            let statements = try #require(SQLiteWriterStatements(connection))
            let outcome = try await threadPool.runIfActive {
                statements.runBatch([Self.row("a", "tea"), Self.row("b", nil), Self.row("c", "cup")], failsAlone: Self.uniqueFailsAlone)
            }
            guard case .failed(let failure, rollbackFailed: false) = outcome else { Issue.record("expected a failure: \(outcome)"); return }
            #expect(failure.primaryCode == 19, "NOT NULL is a constraint failure: \(failure)")
            #expect(try await Self.ids(connection).isEmpty, "nothing of the batch is kept")
            #expect(try await threadPool.runIfActive { statements.inTransaction } == false)
            let alone = try await threadPool.runIfActive { statements.runBatch([Self.row("z", nil)], failsAlone: Self.uniqueFailsAlone) }
            guard case .done(let results) = alone, case .failure = results[0] else { Issue.record("a lone statement fails alone: \(alone)"); return }
            try await threadPool.runIfActive { statements.finalizeAll() }
        }
    }

    static func ids(_ connection: SQLiteConnection) async throws -> [String] {
        try await connection.query("SELECT id FROM items ORDER BY id", []).map { $0.column("id")?.string ?? "" }
    }

    static func withConnection(_ body: (SQLiteConnection, NIOThreadPool) async throws -> Void) async throws {
        let directory = try TemporaryDirectory()
        let threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        let connection = try await SQLiteConnection.open(
            storage: .file(path: directory.path + "/w.sqlite"), threadPool: threadPool, logger: Logger(label: "test"),
            on: MultiThreadedEventLoopGroup.singleton.any())
        do {
            _ = try await connection.query(Self.table, [])
            try await body(connection, threadPool)
            try await connection.close()
        } catch {
            try? await connection.close()
            try? await threadPool.shutdownGracefully()
            directory.remove()
            throw error
        }
        try await threadPool.shutdownGracefully()
        directory.remove()
    }
}
