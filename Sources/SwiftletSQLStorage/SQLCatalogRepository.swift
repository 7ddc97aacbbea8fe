import Foundation
import SQLKit
import SwiftletCore

/// `CatalogRepository` for every SQL engine. Deleted products are kept (soft delete):
/// orders refer to them, and a deletion should never break an order page.
public struct SQLCatalogRepository: CatalogRepository {
    let executor: any SQLExecutor

    public init(executor: any SQLExecutor) {
        self.executor = executor
    }

    static let productColumns = "id, title, description, image_url, on_shelf, created_at, updated_at"
    /// What `decodeSKU` reads.
    static let skuColumns = "id, product_id, title, price_fen, stock, flash_sale"

    public func create(_ product: Product) async throws {
        try await executor.transaction { db in
            try await db.raw("""
                INSERT INTO products (id, title, description, image_url, on_shelf, created_at, updated_at)
                VALUES (\(bind: product.id.rawValue), \(bind: product.title), \(bind: product.description),
                        \(bind: product.imageURL), \(bind: product.onShelf), \(bind: product.createdAt.unixMilliseconds),
                        \(bind: product.updatedAt.unixMilliseconds))
                """).run()
            for (position, sku) in product.skus.enumerated() {
                try await Self.insertSKU(db, sku, position: position, now: product.createdAt)
            }
        }
    }

    static func insertSKU(_ db: any SQLDatabase, _ sku: SKU, position: Int, now: Date) async throws {
        try await db.raw("""
            INSERT INTO skus (id, product_id, title, price_fen, stock, flash_sale, position, created_at, updated_at)
            VALUES (\(bind: sku.id.rawValue), \(bind: sku.productID.rawValue), \(bind: sku.title), \(bind: sku.priceFen),
                    \(bind: sku.stock), \(bind: sku.flashSale), \(bind: position), \(bind: now.unixMilliseconds),
                    \(bind: now.unixMilliseconds))
            """).run()
    }

    public func find(_ id: ProductID, includeOffShelf: Bool) async throws -> Product? {
        let rows = try await executor.values(.catalogueProduct, Self.findQuery(id))
        guard let product = try Self.products(rows).first else { return nil }
        return product.onShelf || includeOffShelf ? product : nil
    }

    /// A product with its SKUs, one row per SKU (`products(_:)`), shelf state not checked.
    static func findQuery(_ id: ProductID) -> SQLQueryString {
        """
        SELECT \(unsafeRaw: Self.productWithSKUColumns)
        FROM products p LEFT JOIN skus s ON s.product_id = p.id
        WHERE p.id = \(bind: id.rawValue) AND p.deleted_at IS NULL
        ORDER BY s.position
        """
    }

    /// One query for a page of products and their SKUs: the page is chosen in a subquery
    /// (newest first, after the cursor, `limit + 1` for the next-page test) and joined
    /// with its SKUs, read by position (`SQLValues`). The buyer's two shapes (first page,
    /// later page) are prepared on PostgreSQL.
    public func list(includeOffShelf: Bool, limit: Int, cursor: String?) async throws -> Page<Product> {
        let (query, shape) = Self.listQuery(includeOffShelf: includeOffShelf, limit: limit, after: try KeysetCursor.decode(cursor))
        return Self.page(try Self.products(try await executor.values(shape, query)), limit: limit)
    }

    /// `list`'s statement, and its shape (the buyer's listings have one).
    static func listQuery(includeOffShelf: Bool, limit: Int, after: KeysetCursor?) -> (SQLQueryString, SQLPreparedShape?) {
        var query = SQLQueryString("""
            SELECT \(unsafeRaw: Self.productWithSKUColumns)
            FROM (SELECT \(unsafeRaw: Self.productColumns) FROM products WHERE deleted_at IS NULL
            """)
        if !includeOffShelf {
            query.appendInterpolation(unsafeRaw: " AND on_shelf = ")
            query.appendInterpolation(bind: true)
        }
        KeysetCursor.appendPage(after: after, limit: limit, to: &query)
        query.appendInterpolation(unsafeRaw: """
            ) p LEFT JOIN skus s ON s.product_id = p.id
            ORDER BY p.created_at DESC, p.id DESC, s.position
            """)
        let shape: SQLPreparedShape? = includeOffShelf ? nil : after == nil ? .cataloguePage : .cataloguePageAfter
        return (query, shape)
    }

    /// A page of `limit` from `limit + 1` products read, with the cursor after its last.
    static func page(_ products: [Product], limit: Int) -> Page<Product> {
        KeysetCursor.page(products, limit: limit) { KeysetCursor(createdAt: $0.createdAt.unixMilliseconds, id: $0.id.rawValue) }
    }

    /// The columns `products(_:)` reads: a product's, then its SKU's (null without one).
    static let productWithSKUColumns = """
        p.id, p.title, p.description, p.image_url, p.on_shelf, p.created_at, p.updated_at, \
        s.id, s.title, s.price_fen, s.stock, s.flash_sale
        """

    /// Products from rows of `productWithSKUColumns`, one row per SKU, a product's rows
    /// adjacent and its SKUs in position order.
    static func products(_ rows: [SQLValues]) throws -> [Product] {
        var products: [Product] = []
        for row in rows {
            let id = ProductID(rawValue: try row.string(0))
            if products.last?.id != id {
                products.append(Product(
                    id: id, title: try row.string(1), description: try row.string(2), imageURL: try row.optionalString(3),
                    onShelf: try row.bool(4), skus: [],
                    createdAt: Date(unixMilliseconds: try row.int64(5)), updatedAt: Date(unixMilliseconds: try row.int64(6))))
            }
            guard !row.isNull(7) else { continue }
            products[products.count - 1].skus.append(SKU(
                id: SKUID(rawValue: try row.string(7)), productID: id, title: try row.string(8), priceFen: try row.int(9),
                stock: try row.int(10), flashSale: try row.bool(11)))
        }
        return products
    }

    /// Admin writes answer with the product as read right after their commit.
    public func update(_ id: ProductID, _ update: ProductUpdate, now: Date) async throws -> Product? {
        try await executor.transaction { db in
            try await db.raw("""
                UPDATE products SET title = COALESCE(\(bind: update.title), title),
                                    description = COALESCE(\(bind: update.description), description),
                                    image_url = CASE WHEN \(bind: update.imageURL != nil) THEN NULLIF(\(bind: update.imageURL ?? ""), '') ELSE image_url END,
                                    on_shelf = COALESCE(\(bind: update.onShelf), on_shelf),
                                    updated_at = \(bind: now.unixMilliseconds)
                WHERE id = \(bind: id.rawValue) AND deleted_at IS NULL
                """).run()
        }
        return try await find(id, includeOffShelf: true)
    }

    public func delete(_ id: ProductID, now: Date) async throws -> Bool {
        try await executor.transaction { db in
            try await db.raw("""
                UPDATE products SET deleted_at = \(bind: now.unixMilliseconds), on_shelf = \(bind: false)
                WHERE id = \(bind: id.rawValue) AND deleted_at IS NULL RETURNING id
                """).first() != nil
        }
    }

    public func addSKU(_ sku: SKU, now: Date) async throws -> Product? {
        let added = try await executor.transaction { db in
            guard let row = try await db.raw("""
                SELECT COUNT(s.id) AS n FROM products p LEFT JOIN skus s ON s.product_id = p.id
                WHERE p.id = \(bind: sku.productID.rawValue) AND p.deleted_at IS NULL GROUP BY p.id
                """).first()
            else { return false }
            try await Self.insertSKU(db, sku, position: try row.decode(column: "n", as: Int.self), now: now)
            return true
        }
        return added ? try await find(sku.productID, includeOffShelf: true) : nil
    }

    public func updateSKU(_ id: SKUID, _ update: SKUUpdate, now: Date) async throws -> SKU? {
        try await executor.transaction { db in
            try await db.raw("""
                UPDATE skus SET title = COALESCE(\(bind: update.title), title),
                                price_fen = COALESCE(\(bind: update.priceFen), price_fen),
                                stock = COALESCE(\(bind: update.stock), stock),
                                flash_sale = COALESCE(\(bind: update.flashSale), flash_sale),
                                updated_at = \(bind: now.unixMilliseconds)
                WHERE id = \(bind: id.rawValue)
                RETURNING \(unsafeRaw: Self.skuColumns)
                """).first().map(Self.decodeSKU)
        }
    }

    public func adjustStock(_ id: SKUID, delta: Int, now: Date) async throws -> SKU? {
        try await executor.transaction { db in
            // The condition keeps stock at or above zero even while orders race for it.
            if let row = try await db.raw("""
                UPDATE skus SET stock = stock + \(bind: delta), updated_at = \(bind: now.unixMilliseconds)
                WHERE id = \(bind: id.rawValue) AND stock + \(bind: delta) >= 0
                RETURNING \(unsafeRaw: Self.skuColumns)
                """).first() {
                return try Self.decodeSKU(row)
            }
            guard try await db.raw("SELECT id FROM skus WHERE id = \(bind: id.rawValue)").first() != nil else { return nil }
            throw SwiftletError.conflict("catalog.stock_negative", "Stock cannot go below zero.")
        }
    }

    public func count() async throws -> Int {
        try await executor.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM products WHERE deleted_at IS NULL").first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    public func flashSaleLedgers() async throws -> [FlashSaleLedger] {
        try await executor.read { db in
            let rows = try await db.raw("""
                SELECT s.id, s.stock, h.user_id FROM skus s LEFT JOIN flash_sale_holds h ON h.sku_id = s.id
                WHERE s.flash_sale = \(bind: true) ORDER BY s.id
                """).all()
            var ledgers: [SKUID: FlashSaleLedger] = [:]
            for row in rows {
                let id = SKUID(rawValue: try row.decode(column: "id", as: String.self))
                let stock = try row.decode(column: "stock", as: Int.self)
                var ledger = ledgers[id] ?? FlashSaleLedger(skuID: id, stock: stock, holders: [])
                if let user = try row.decode(column: "user_id", as: String?.self) { ledger.holders.insert(UserID(rawValue: user)) }
                ledgers[id] = ledger
            }
            return ledgers.values.sorted { $0.skuID.rawValue < $1.skuID.rawValue }
        }
    }

    public func flashSaleSKUIDs() async throws -> [SKUID] {
        try await executor.read { db in
            try await db.raw("SELECT id FROM skus WHERE flash_sale = \(bind: true) ORDER BY id").all()
                .map { SKUID(rawValue: try $0.decode(column: "id", as: String.self)) }
        }
    }

    static func decodeSKU(_ row: any SQLRow) throws -> SKU {
        SKU(id: SKUID(rawValue: try row.decode(column: "id", as: String.self)),
            productID: ProductID(rawValue: try row.decode(column: "product_id", as: String.self)),
            title: try row.decode(column: "title", as: String.self),
            priceFen: try row.decode(column: "price_fen", as: Int.self),
            stock: try row.decode(column: "stock", as: Int.self),
            flashSale: try row.decode(column: "flash_sale", as: Bool.self))
    }
}
