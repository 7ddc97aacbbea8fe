import SwiftletCore

/// One result row as its values in column order, converted by the engine from its own
/// wire or C types (`SQLExecutor.performValues`).
///
/// SQLKit's `SQLRow` decodes each value by column name through `Decodable`; on the
/// catalogue page (forty rows, some 240 values) that was a sixth of the request's CPU.
/// Reads that run on every buyer's request take their rows this way instead and read them
/// by position.
public struct SQLValues: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case null
        case integer(Int64)
        case real(Double)
        case text(String)
        case boolean(Bool)
    }

    public var values: [Value]

    public init(_ values: [Value]) {
        self.values = values
    }

    /// A value that is not what the statement selects there: a bug in the statement, not
    /// in the data, reported with its position.
    struct Mismatch: Error, CustomStringConvertible {
        let column: Int
        let expected: String
        let found: Value
        var description: String { "column \(column): expected \(expected), found \(found)" }
    }

    public func isNull(_ column: Int) -> Bool { values[column] == .null }

    public func string(_ column: Int) throws -> String {
        guard case .text(let value) = values[column] else { throw Mismatch(column: column, expected: "text", found: values[column]) }
        return value
    }

    public func optionalString(_ column: Int) throws -> String? {
        values[column] == .null ? nil : try string(column)
    }

    public func int64(_ column: Int) throws -> Int64 {
        guard case .integer(let value) = values[column] else { throw Mismatch(column: column, expected: "integer", found: values[column]) }
        return value
    }

    public func int(_ column: Int) throws -> Int { Int(try int64(column)) }

    /// PostgreSQL's `boolean`, or SQLite's integer 0 or 1.
    public func bool(_ column: Int) throws -> Bool {
        switch values[column] {
        case .boolean(let value): return value
        case .integer(let value): return value != 0
        default: throw Mismatch(column: column, expected: "boolean", found: values[column])
        }
    }
}
