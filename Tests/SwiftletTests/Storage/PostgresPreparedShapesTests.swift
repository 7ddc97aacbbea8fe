@testable import SwiftletPostgres
import SwiftletSQLStorage
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
