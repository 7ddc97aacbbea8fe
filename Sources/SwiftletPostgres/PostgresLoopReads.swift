import Logging
import NIOCore
import PostgresNIO
import SwiftletSQLStorage

/// Reads of a fixed shape run start to end on the connection's event loop: the rows are
/// converted as they arrive and handed over once, whole.
///
/// PostgresNIO's prepared-statement API returns rows as an async sequence: every row is
/// yielded into a buffer under a lock and taken out by the reading task, with back
/// pressure between the two, and the task itself has to run on the connection's event
/// loop to spare a thread hop per message. For the buyer's reads (a page is a few dozen
/// rows) that machinery cost more than the rows. PostgresNIO's future-based prepared
/// queries instead call a closure for each row in the channel handler itself, where the
/// row becomes its `SQLValues` at once; the caller waits on one future for the whole read.
///
/// Those queries are prepared per connection under names of their own, once, and kept
/// while the connection is open (`PerConnection`). They are prepared without parameter
/// types, so each parameter must stand where PostgreSQL infers its type (compared with a
/// column, a `LIMIT`); one bare in a `VALUES` list would be text. The orders' statement has
/// such parameters and stays on `performPrepared`. (Its SKU read, moved here, measured no
/// cheaper and its p99 higher: an order's rows are one, and its time is the database's.)
final class PostgresLoopReads: Sendable {
    /// Each connection's prepared queries (tests watch the table follow the pool).
    let prepared = PerConnection<[SQLPreparedShape: PreparedQuery]>()

    /// The shape's rows as values. Its text must be the shape's (`PostgresPreparedShapes`).
    /// `first` runs on the event loop before anything is sent.
    func values(
        _ shape: SQLPreparedShape, sql: String, binds: [PostgresData], on connection: PostgresConnection,
        first: @escaping @Sendable () throws -> Void
    ) -> EventLoopFuture<[SQLValues]> {
        connection.eventLoop.flatSubmit { [self] in
            do {
                try first()
            } catch {
                return connection.eventLoop.makeFailedFuture(error)
            }
            return preparedQuery(shape, sql: sql, on: connection).flatMap { query in
                let rows = RowValues()
                return query.execute(binds) { row in
                    rows.values.append(try PostgresPreparedShapes.values(row, binary: true))
                }.map { rows.values }
            }.flatMapErrorThrowing { error in
                throw PostgresErrors.translateLegacy(error)
            }
        }
    }

    private func preparedQuery(_ shape: SQLPreparedShape, sql: String, on connection: PostgresConnection) -> EventLoopFuture<PreparedQuery> {
        if let known = prepared.value(for: connection)?[shape] {
            return connection.eventLoop.makeSucceededFuture(known)
        }
        return connection.prepare(query: sql).map { [self] query in
            prepared.update(connection, initial: [:]) { $0[shape] = query }
            return query
        }
    }

    /// The values of a result's rows, appended by the connection's channel handler, one row
    /// at a time, and read once the result has ended (on the same event loop).
    private final class RowValues: @unchecked Sendable {
        var values: [SQLValues] = []
    }
}
