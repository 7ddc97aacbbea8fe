import PostgresNIO
import Synchronization

/// State kept for each pooled connection while it is open, by connection id (a pool never
/// reuses one). `PostgresClient` replaces connections without telling anyone, so the
/// entries of closed connections are dropped whenever a new connection is added: the table
/// holds about the pool's open connections, however many it has gone through.
final class PerConnection<Value: Sendable>: Sendable {
    private struct Entry {
        let connection: PostgresConnection
        var value: Value
    }

    private let entries = Mutex<[PostgresConnection.ID: Entry]>([:])

    func value(for connection: PostgresConnection) -> Value? {
        entries.withLock { $0[connection.id]?.value }
    }

    /// Applies `change` to the connection's value, which starts as `initial` for a
    /// connection not in the table yet. Returns whether the connection was new.
    @discardableResult
    func update(_ connection: PostgresConnection, initial: Value, _ change: (inout Value) -> Void = { _ in }) -> Bool {
        entries.withLock { entries in
            let isNew = entries[connection.id] == nil
            if isNew {
                entries = entries.filter { !$0.value.connection.isClosed }
                entries[connection.id] = Entry(connection: connection, value: initial)
            }
            change(&entries[connection.id]!.value)
            return isNew
        }
    }

    /// Connections with an entry (tests watch the table follow the pool).
    var count: Int {
        entries.withLock { $0.count }
    }
}
