import Logging
import PostgresKit
import PostgresNIO
import SQLKit
import SwiftletSQLStorage
import Synchronization

/// The statements of `SQLPreparedShape`, prepared once per connection: PostgreSQL parses and
/// plans them once instead of on every call (the one-line order's statement is a large
/// `WITH`, and planning it cost more server CPU than running it).
///
/// PostgresNIO names and texts prepared statements by type, so each shape has a type, and
/// its text is the one SQLKit serialises for it: taken from the first call, and compared on
/// every later one (a different text, which a shape never has, runs unprepared instead of
/// running the wrong statement).
enum PostgresPreparedShapes {
    /// The text each shape was first seen with.
    static let texts = Mutex<[SQLPreparedShape: String]>([:])

    /// The prepared form of `sql` with `binds`, or nil when it cannot be prepared (a text
    /// other than the shape's, a bind of a type not converted here).
    static func statement(_ shape: SQLPreparedShape, sql: String, binds: [any Encodable & Sendable]) -> (any Runnable)? {
        guard isPreparable(shape, sql: sql), let bindings = bindings(binds) else { return nil }
        switch shape {
        case .orderSnapshot: return Prepared<OrderSnapshot>(bindings: bindings)
        case .orderOneLine: return Prepared<OrderOneLine>(bindings: bindings)
        case .orderSeveralLines: return nil
        case .cataloguePage: return Prepared<CataloguePage>(bindings: bindings)
        case .cataloguePageAfter: return Prepared<CataloguePageAfter>(bindings: bindings)
        case .catalogueProduct: return Prepared<CatalogueProduct>(bindings: bindings)
        }
    }

    /// Whether `sql` is the text `shape` was first seen with.
    static func isPreparable(_ shape: SQLPreparedShape, sql: String) -> Bool {
        guard shape.hasFixedText else { return false }
        let known = texts.withLock { texts -> String in
            if let text = texts[shape] { return text }
            texts[shape] = sql
            return sql
        }
        return known == sql
    }

    /// The binds as the future-based API takes them, or nil for a type not converted here.
    static func data(_ binds: [any Encodable & Sendable]) -> [PostgresData]? {
        var data: [PostgresData] = []
        data.reserveCapacity(binds.count)
        for bind in binds {
            switch bind {
            case let value as String: data.append(PostgresData(string: value))
            case let value as Int: data.append(PostgresData(int: value))
            case let value as Int64: data.append(PostgresData(int64: value))
            case let value as Bool: data.append(PostgresData(bool: value))
            default: return nil
            }
        }
        return data
    }

    static func bindings(_ binds: [any Encodable & Sendable]) -> PostgresBindings? {
        guard let data = data(binds) else { return nil }
        var bindings = PostgresBindings(capacity: data.count)
        for value in data { bindings.append(value) }
        return bindings
    }

    protocol Tag: Sendable {
        static var shape: SQLPreparedShape { get }
    }

    enum OrderSnapshot: Tag { static let shape = SQLPreparedShape.orderSnapshot }
    enum OrderOneLine: Tag { static let shape = SQLPreparedShape.orderOneLine }
    enum CataloguePage: Tag { static let shape = SQLPreparedShape.cataloguePage }
    enum CataloguePageAfter: Tag { static let shape = SQLPreparedShape.cataloguePageAfter }
    enum CatalogueProduct: Tag { static let shape = SQLPreparedShape.catalogueProduct }

    /// A row's values by their PostgreSQL types. The binary forms of the types Swiftlet's
    /// statements select (integers, booleans, text) are read straight from the cell's bytes;
    /// anything else goes through PostgresNIO's own decoding. Read this way a catalogue
    /// page's cells cost about half what the generic decoding did.
    ///
    /// `binary` says the cells are binary whatever their column says: PostgresNIO's
    /// future-based prepared queries (`PostgresLoopReads`) keep the text format the server's
    /// statement description gives, while every execution asks for binary results.
    static func values(_ row: PostgresRow, binary: Bool = false) throws -> SQLValues {
        var values: [SQLValues.Value] = []
        values.reserveCapacity(row.count)
        for var cell in row {
            guard var bytes = cell.bytes else {
                values.append(.null)
                continue
            }
            if binary { cell.format = .binary }
            guard cell.format == .binary else {
                values.append(try decoded(cell))
                continue
            }
            switch (cell.dataType, bytes.readableBytes) {
            case (.int8, 8): values.append(.integer(bytes.readInteger(as: Int64.self)!))
            case (.int4, 4): values.append(.integer(Int64(bytes.readInteger(as: Int32.self)!)))
            case (.int2, 2): values.append(.integer(Int64(bytes.readInteger(as: Int16.self)!)))
            case (.bool, 1): values.append(.boolean(bytes.readInteger(as: UInt8.self)! != 0))
            case (.text, _), (.varchar, _): values.append(.text(String(buffer: bytes)))
            default: values.append(try decoded(cell))
            }
        }
        return SQLValues(values)
    }

    /// One cell through PostgresNIO's decoding, by its type.
    private static func decoded(_ cell: PostgresCell) throws -> SQLValues.Value {
        switch cell.dataType {
        case .int8, .int4, .int2: .integer(try cell.decode(Int64.self))
        case .bool: .boolean(try cell.decode(Bool.self))
        case .float8, .float4: .real(try cell.decode(Double.self))
        default: .text(try cell.decode(String.self))
        }
    }

    protocol Runnable: Sendable {
        func run(on connection: PostgresConnection, logger: Logger) async throws -> [PostgresRow]
    }

    struct Prepared<Shape: Tag>: PostgresPreparedStatement, Runnable {
        typealias Row = PostgresRow
        static var name: String { Shape.shape.rawValue }
        static var sql: String { PostgresPreparedShapes.texts.withLock { $0[Shape.shape] ?? "" } }

        let bindings: PostgresBindings

        func makeBindings() throws -> PostgresBindings { bindings }
        func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }

        func run(on connection: PostgresConnection, logger: Logger) async throws -> [PostgresRow] {
            var rows: [PostgresRow] = []
            for try await row in try await connection.execute(self, logger: logger) {
                rows.append(row)
            }
            return rows
        }
    }
}
