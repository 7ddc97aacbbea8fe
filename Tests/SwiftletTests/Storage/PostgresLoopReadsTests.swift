import Foundation
import NIOCore
import PostgresNIO
import SwiftletCore
@testable import SwiftletPostgres
import SwiftletSQLStorage
import Testing

/// The buyer's catalogue reads on PostgreSQL run as futures on the connection's event loop
/// (`PostgresLoopReads`), through PostgresNIO's older prepared-query API, beside the async
/// row sequence every other read uses. Both must read the same values, and the older API's
/// own errors and formats must not leak out of the engine.
@Suite("PostgreSQL reads of a fixed shape on the connection's event loop")
struct PostgresLoopReadsTests {
    /// A storage of one pooled connection on a fresh migrated schema holding `seed`'s
    /// products, so that a test can look at the connection the reads ran on.
    static func withSeededCatalogue<T>(
        startupParameters: [(String, String)] = [], readConnections: Int = 0,
        _ body: (PostgresStorage, SQLCatalogRepository, String) async throws -> T
    ) async throws -> T {
        let schema = "t_" + RandomID.base32(byteCount: 8)
        try await PostgresSchemas.create(schema)
        func connect(_ extra: [(String, String)], readConnections: Int = 0) async throws -> PostgresStorage {
            try await PostgresStorage.connect(
                PostgresStorageConfiguration(url: try TestStorage.postgresURL, maximumConnections: 1, leaseTimeout: .seconds(20),
                                             startupParameters: [("search_path", schema)] + extra, readConnections: readConnections),
                logger: TestStorage.logger)
        }
        // Migrated and seeded without the test's parameters: a short lock_timeout would cut
        // the wait for the migrators' advisory lock, which other suites hold meanwhile.
        do {
            try await PostgresSchemas.closing(try await connect([]), dropping: nil) { storage in
                try await storage.migrationRunner().migrate()
                try await seed(SQLCatalogRepository(executor: storage))
            }
        } catch {
            try? await PostgresSchemas.drop(schema)
            throw error
        }
        return try await PostgresSchemas.closing(
            try await connect(startupParameters, readConnections: readConnections), dropping: schema
        ) { storage in
            try await body(storage, SQLCatalogRepository(executor: storage), schema)
        }
    }

    /// Three products that touch every type and edge the page reads: a missing image
    /// (NULL), quotes, backslashes and CJK in text, a price past 32 bits, a flash-sale SKU,
    /// a product without SKUs, millisecond timestamps.
    static func seed(_ catalog: SQLCatalogRepository) async throws {
        let base = Date(unixMilliseconds: 1_764_000_000_123)
        let teaID = ProductID(rawValue: "p_tea"), cupID = ProductID(rawValue: "p_cup"), boxID = ProductID(rawValue: "p_box")
        try await catalog.create(Product(
            id: teaID, title: #"Tea "Dragon Well" \ 50/50 — 龙井"#, description: "Spring harvest.\nLine two.", imageURL: nil,
            onShelf: true,
            skus: [SKU(id: SKUID(rawValue: "k_tin"), productID: teaID, title: "50 g / tin", priceFen: 8_800, stock: 0),
                   SKU(id: SKUID(rawValue: "k_vault"), productID: teaID, title: "Vault", priceFen: 5_000_000_000, stock: 3,
                       flashSale: true)],
            createdAt: base, updatedAt: base.addingTimeInterval(1.5)))
        try await catalog.create(Product(
            id: cupID, title: "Ceramic Tea Cup", description: "", imageURL: "https://img.example/cup.png", onShelf: true,
            skus: [SKU(id: SKUID(rawValue: "k_cup"), productID: cupID, title: "Celadon", priceFen: 4_500, stock: 60)],
            createdAt: base.addingTimeInterval(10), updatedAt: base.addingTimeInterval(10)))
        try await catalog.create(Product(
            id: boxID, title: "Gift Box", description: "Empty box.", imageURL: nil, onShelf: true, skus: [],
            createdAt: base.addingTimeInterval(20), updatedAt: base.addingTimeInterval(20)))
    }

    /// `seed`'s products as the catalogue lists them.
    static let newestFirst = ["p_box", "p_cup", "p_tea"].map(ProductID.init(rawValue:))

    @Test("the catalogue's fixed shapes (first page, later page, product) read what the same statements read through the row sequence")
    func sameValuesAsTheRowSequence() async throws {
        guard EngineKind.available.contains(.postgres) else { return }
        try await Self.withSeededCatalogue { _, catalog, _ in
            let newestFirst = Self.newestFirst
            // On-shelf listings are the prepared shapes read on the event loop; listings that
            // include off-shelf products have no shape and read through the row sequence.
            let page = try await catalog.list(includeOffShelf: false, limit: 10, cursor: nil)
            let sequencePage = try await catalog.list(includeOffShelf: true, limit: 10, cursor: nil)
            #expect(page.items.map(\.id) == newestFirst)
            #expect(page.items == sequencePage.items)
            let tea = try #require(page.items.last)
            #expect(tea.title == #"Tea "Dragon Well" \ 50/50 — 龙井"#)
            #expect(tea.imageURL == nil)
            #expect(tea.skus.map(\.priceFen) == [8_800, 5_000_000_000])
            #expect(tea.skus.map(\.flashSale) == [false, true])
            #expect(tea.updatedAt.unixMilliseconds == 1_764_000_001_623)
            #expect(page.items.first?.skus == [])

            let first = try await catalog.list(includeOffShelf: false, limit: 1, cursor: nil)
            let next = try await catalog.list(includeOffShelf: false, limit: 1, cursor: first.nextCursor)
            let sequenceNext = try await catalog.list(includeOffShelf: true, limit: 1, cursor: first.nextCursor)
            #expect(next.items.map(\.id) == [newestFirst[1]])
            #expect(next.items == sequenceNext.items)

            #expect(try await catalog.find(tea.id, includeOffShelf: false) == tea)
            #expect(try await catalog.find(ProductID(rawValue: "p_missing"), includeOffShelf: false) == nil)
        }
    }

    @Test("a shape is prepared once per connection, not once per read")
    func preparedOncePerConnection() async throws {
        guard EngineKind.available.contains(.postgres) else { return }
        try await Self.withSeededCatalogue { storage, catalog, _ in
            for _ in 0..<5 {
                _ = try await catalog.list(includeOffShelf: false, limit: 10, cursor: nil)
            }
            // The pool has one connection: this runs on the one the reads ran on.
            let prepared = try await storage.performRead { db in
                try await db.raw("SELECT count(*) AS n FROM pg_prepared_statements WHERE statement LIKE '%LEFT JOIN skus%'")
                    .first()?.decode(column: "n", as: Int.self)
            }
            #expect(prepared == 1)
        }
    }

    @Test("a connection terminated between reads: at most storage.unavailable, then reads are served on a new connection, which prepares the shape anew; the closed one's queries are dropped")
    func terminatedBetweenReads() async throws {
        guard EngineKind.available.contains(.postgres) else { return }
        try await Self.withSeededCatalogue { storage, catalog, _ in
            _ = try await catalog.list(includeOffShelf: false, limit: 10, cursor: nil)
            let pid = try await Self.backendPID(storage)
            try await PostgresSchemas.admin { admin in
                try await admin.query("SELECT pg_terminate_backend(\(Int32(pid)))", logger: TestStorage.logger)
            }
            var served: Page<Product>?
            for _ in 0..<50 where served == nil {
                do {
                    served = try await catalog.list(includeOffShelf: false, limit: 10, cursor: nil)
                } catch let error as SwiftletError where error.code == "storage.unavailable" {
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            #expect(served?.items.count == 3)
            #expect(try await Self.backendPID(storage) != pid)
            #expect(storage.loopReads.prepared.count == 1, "only the open connection's prepared queries are kept")
        }
    }

    @Test("a server error on this path leaves as a StorageFailure with the SQLSTATE and a masked message, not as the driver's error")
    func serverErrorIsTranslated() async throws {
        guard EngineKind.available.contains(.postgres) else { return }
        try await Self.withSeededCatalogue(startupParameters: [("lock_timeout", "200")]) { _, catalog, schema in
            try await PostgresSchemas.admin { admin in
                try await admin.query("BEGIN", logger: TestStorage.logger)
                try await admin.query("LOCK TABLE \(unescaped: schema).products IN ACCESS EXCLUSIVE MODE", logger: TestStorage.logger)
                do {
                    _ = try await catalog.list(includeOffShelf: false, limit: 10, cursor: nil)
                    Issue.record("the read went past a lock it could not take")
                } catch let failure as StorageFailure {
                    #expect(failure.sqlState == "55P03")
                    #expect(failure.engine == "postgres")
                } catch {
                    Issue.record("expected a StorageFailure, got \(type(of: error)): \(error)")
                }
                try await admin.query("ROLLBACK", logger: TestStorage.logger)
            }
            #expect(try await catalog.list(includeOffShelf: false, limit: 10, cursor: nil).items.count == 3)
        }
    }

    @Test("the older API's errors: a closed connection or socket is storage.unavailable; a protocol error's text (which can quote row data) stays out")
    func olderErrorsTranslated() {
        for error: any Error in [PostgresError.connectionClosed, PostgresError.protocol("Unexpected connection close"),
                                 IOError(errnoCode: ECONNRESET, reason: "read"), ChannelError.ioOnClosedChannel] {
            #expect((PostgresErrors.translateLegacy(error) as? SwiftletError)?.code == "storage.unavailable", "\(error)")
        }
        let quoted = PostgresErrors.translateLegacy(PostgresError.protocol("Unexpected message: DataRow(13800138000)"))
        let failure = try? #require(quoted as? StorageFailure)
        #expect(failure?.kind == "protocol")
        #expect(failure.map { !"\($0)".contains("13800138000") } == true)
        struct Other: Error {}
        #expect(PostgresErrors.translateLegacy(Other()) is Other)
    }

    static func backendPID(_ storage: PostgresStorage) async throws -> Int {
        try await storage.performRead { db in
            try await db.raw("SELECT pg_backend_pid() AS pid").first()?.decode(column: "pid", as: Int.self) ?? -1
        }
    }
}
