@testable import SwiftletPostgres
import SwiftletSQLStorage
import SQLKit
import Testing

/// A shape is prepared under the text it was first seen with, and only that text: anything
/// else runs unprepared rather than as the wrong statement.
@Suite("PostgreSQL prepared shapes")
struct PostgresPreparedShapesTests {
    @Test("the first text names the shape; the same text is prepared, another text or an unknown bind type is not")
    func textsAndBinds() {
        let shape = SQLPreparedShape.orderSnapshot
        let first = PostgresPreparedShapes.texts.withLock { texts -> String in
            if let known = texts[shape] { return known }
            texts[shape] = "SELECT $1"
            return "SELECT $1"
        }
        #expect(PostgresPreparedShapes.statement(shape, sql: first, binds: ["k_1"]) != nil)
        #expect(PostgresPreparedShapes.statement(shape, sql: first + " ", binds: ["k_1"]) == nil, "another text")
        #expect(PostgresPreparedShapes.statement(shape, sql: first, binds: [1.5]) == nil, "a Double is not converted")
        #expect(PostgresPreparedShapes.bindings(["a", 1, Int64(2), true])?.count == 4)
    }
}

/// The values path reads the binary forms of the types statements select straight from
/// the cell; each must come out as PostgresNIO's own decoding gives it.
@Suite("PostgreSQL row values")
struct PostgresRowValuesTests {
    @Test("integers of each width, booleans, text, varchar, NULL and floats read as their values")
    func readsEachType() async throws {
        guard EngineKind.available.contains(.postgres) else { return }
        try await TestStorage.withStorage(.postgres, migrate: false) { storage in
            let postgres = try #require(storage as? PostgresStorage)
            let rows = try await postgres.performValues(nil, """
                SELECT 9007199254740993::int8, (-2147483648)::int4, (-32768)::int2, true, false,
                       'Tea "龙井" \\ 50/50'::text, 'short'::varchar(10), NULL::text, 1.5::float8, ''::text
                """)
            #expect(rows == [SQLValues([
                .integer(9_007_199_254_740_993), .integer(-2_147_483_648), .integer(-32768), .boolean(true), .boolean(false),
                .text(#"Tea "龙井" \ 50/50"#), .text("short"), .null, .real(1.5), .text(""),
            ])])
        }
    }
}
