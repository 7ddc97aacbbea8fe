import Logging
import NIOCore
import PostgresKit
import PostgresNIO
import SQLKit

/// SQLKit's text and binds of a statement in PostgreSQL's dialect, without a connection:
/// the read connections (`PostgresReadConnections`) are PostgresNIO's own, not SQLKit's.
/// Serializing needs only the dialect; this database never runs anything.
struct PostgresStatementText: SQLDatabase {
    static let shared = PostgresStatementText()

    let logger = Logger(label: "swiftlet.postgres.statement-text")
    let dialect: any SQLDialect = PostgresDialect()
    var eventLoop: any EventLoop { PostgresConnection.defaultEventLoopGroup.any() }
    var queryLogLevel: Logger.Level? { nil }

    private struct NotAConnection: Error {}

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) -> EventLoopFuture<Void> {
        eventLoop.makeFailedFuture(NotAConnection())
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) async throws {
        throw NotAConnection()
    }

    func withSession<R>(_ closure: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        throw NotAConnection()
    }

    /// The statement's text and binds.
    static func of(_ statement: SQLQueryString) -> (sql: String, binds: [any Encodable & Sendable]) {
        var serializer = SQLSerializer(database: shared)
        statement.serialize(to: &serializer)
        return (serializer.sql, serializer.binds)
    }
}
