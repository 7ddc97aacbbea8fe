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
        try await executor.read { db in try await Self.find(db, id, includeOffShelf: includeOffShelf) }
    }

    static func find(_ db: any SQLDatabase, _ id: ProductID, includeOffShelf: Bool) async throws -> Product? {
        guard let row = try await db.raw("""
            SELECT \(unsafeRaw: productColumns) FROM products WHERE id = \(bind: id.rawValue) AND deleted_at IS NULL
            """).first()
        else { return nil }
        let product = try decodeProduct(row, skus: try await skus(db, of: [id])[id] ?? [])
        return product.onShelf || includeOffShelf ? product : nil
    }

    public func list(includeOffShelf: Bool, limit: Int, cursor: String?) async throws -> Page<Product> {
        let after = try KeysetCursor.decode(cursor)
        return try await executor.read { db in
            var query = SQLQueryString("SELECT \(unsafeRaw: Self.productColumns) FROM products WHERE deleted_at IS NULL")
            if !includeOffShelf {
                query.appendInterpolation(unsafeRaw: " AND on_shelf = ")
                query.appendInterpolation(bind: true)
            }
            KeysetCursor.appendPage(after: after, limit: limit, to: &query)
            let rows = try await db.raw(query).all()
            let ids = try rows.map { ProductID(rawValue: try $0.decode(column: "id", as: String.self)) }
            let skus = try await Self.skus(db, of: ids)
            let products = try rows.map { row in
                try Self.decodeProduct(row, skus: skus[ProductID(rawValue: try row.decode(column: "id", as: String.self))] ?? [])
            }
            return KeysetCursor.page(products, limit: limit) { KeysetCursor(createdAt: $0.createdAt.unixMilliseconds, id: $0.id.rawValue) }
        }
    }

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
            return try await Self.find(db, id, includeOffShelf: true)
        }
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
        try await executor.transaction { db in
            guard let row = try await db.raw("""
                SELECT COUNT(s.id) AS n FROM products p LEFT JOIN skus s ON s.product_id = p.id
                WHERE p.id = \(bind: sku.productID.rawValue) AND p.deleted_at IS NULL GROUP BY p.id
                """).first()
            else { return nil }
            try await Self.insertSKU(db, sku, position: try row.decode(column: "n", as: Int.self), now: now)
            return try await Self.find(db, sku.productID, includeOffShelf: true)
        }
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

    static func skus(_ db: any SQLDatabase, of ids: [ProductID]) async throws -> [ProductID: [SKU]] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await db.raw("""
            SELECT \(unsafeRaw: skuColumns) FROM skus
            WHERE product_id IN (\(binds: ids.map(\.rawValue))) ORDER BY product_id, position
            """).all()
        return Dictionary(grouping: try rows.map(decodeSKU), by: \.productID)
    }

    static func decodeSKU(_ row: any SQLRow) throws -> SKU {
        SKU(id: SKUID(rawValue: try row.decode(column: "id", as: String.self)),
            productID: ProductID(rawValue: try row.decode(column: "product_id", as: String.self)),
            title: try row.decode(column: "title", as: String.self),
            priceFen: try row.decode(column: "price_fen", as: Int.self),
            stock: try row.decode(column: "stock", as: Int.self),
            flashSale: try row.decode(column: "flash_sale", as: Bool.self))
    }

    static func decodeProduct(_ row: any SQLRow, skus: [SKU]) throws -> Product {
        Product(
            id: ProductID(rawValue: try row.decode(column: "id", as: String.self)),
            title: try row.decode(column: "title", as: String.self),
            description: try row.decode(column: "description", as: String.self),
            imageURL: try row.decode(column: "image_url", as: String?.self),
            onShelf: try row.decode(column: "on_shelf", as: Bool.self),
            skus: skus,
            createdAt: Date(unixMilliseconds: try row.decode(column: "created_at", as: Int64.self)),
            updatedAt: Date(unixMilliseconds: try row.decode(column: "updated_at", as: Int64.self)))
    }
}
