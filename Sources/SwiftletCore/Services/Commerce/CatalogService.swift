import Foundation

/// Catalogue use cases: buyers browse on-shelf products; admins manage everything.
///
/// Every admin write tells `cache` (the buyer's catalogue as this node serves it, and
/// through it every node) once the write is over, succeeded or not.
public struct CatalogService: Sendable {
    let catalog: any CatalogRepository
    let clock: SwiftletClock
    public let cache: CatalogCache

    public init(catalog: any CatalogRepository, clock: SwiftletClock, cache: CatalogCache = .off) {
        self.catalog = catalog
        self.clock = clock
        self.cache = cache
    }

    /// Runs an admin write, then drops the cached catalogue everywhere: also after an
    /// error, since the write may have committed before it.
    private func changing<T>(_ subject: String, _ write: () async throws -> T) async throws -> T {
        defer { cache.changed(subject) }
        return try await write()
    }

    public func browse(limit: Int?, cursor: String?) async throws -> Page<Product> {
        try await catalog.list(includeOffShelf: false, limit: try CommerceValidation.pageLimit(limit), cursor: cursor)
    }

    public func product(_ id: ProductID) async throws -> Product {
        guard let product = try await catalog.find(id, includeOffShelf: false) else { throw Self.productNotFound }
        return product
    }

    // MARK: Admin

    public func adminList(limit: Int?, cursor: String?) async throws -> Page<Product> {
        try await catalog.list(includeOffShelf: true, limit: try CommerceValidation.pageLimit(limit), cursor: cursor)
    }

    public func adminProduct(_ id: ProductID) async throws -> Product {
        guard let product = try await catalog.find(id, includeOffShelf: true) else { throw Self.productNotFound }
        return product
    }

    public func create(_ draft: ProductDraft) async throws -> Product {
        guard (1...100).contains(draft.skus.count) else {
            throw SwiftletError.invalid("catalog.invalid_skus", "A product has 1 to 100 SKUs.")
        }
        let now = clock.now
        let id = ProductID.generate()
        let skus = try draft.skus.map { raw in
            let sku = try CommerceValidation.sku(raw)
            return SKU(id: .generate(), productID: id, title: sku.title, priceFen: sku.priceFen, stock: sku.stock,
                       flashSale: sku.flashSale)
        }
        let product = Product(
            id: id, title: try CommerceValidation.title(draft.title),
            description: try CommerceValidation.description(draft.description),
            imageURL: try CommerceValidation.imageURL(draft.imageURL), onShelf: draft.onShelf, skus: skus,
            createdAt: now, updatedAt: now)
        try await changing(id.rawValue) { try await catalog.create(product) }
        return product
    }

    public func update(_ id: ProductID, _ raw: ProductUpdate) async throws -> Product {
        let update = ProductUpdate(
            title: try raw.title.map { try CommerceValidation.title($0) },
            description: try raw.description.map(CommerceValidation.description),
            imageURL: try raw.imageURL.map { try CommerceValidation.imageURL($0) ?? "" },
            onShelf: raw.onShelf)
        guard let product = try await changing(id.rawValue, { try await catalog.update(id, update, now: clock.now) }) else {
            throw Self.productNotFound
        }
        return product
    }

    public func delete(_ id: ProductID) async throws {
        guard try await changing(id.rawValue, { try await catalog.delete(id, now: clock.now) }) else {
            throw Self.productNotFound
        }
    }

    public func addSKU(to productID: ProductID, _ draft: SKUDraft) async throws -> Product {
        let valid = try CommerceValidation.sku(draft)
        let sku = SKU(id: .generate(), productID: productID, title: valid.title, priceFen: valid.priceFen, stock: valid.stock,
                      flashSale: valid.flashSale)
        guard let product = try await changing(productID.rawValue, { try await catalog.addSKU(sku, now: clock.now) }) else {
            throw Self.productNotFound
        }
        return product
    }

    public func updateSKU(_ id: SKUID, _ raw: SKUUpdate) async throws -> SKU {
        let update = SKUUpdate(
            title: try raw.title.map { try CommerceValidation.title($0, field: "sku_title") },
            priceFen: try raw.priceFen.map(CommerceValidation.price),
            stock: try raw.stock.map(CommerceValidation.stock), flashSale: raw.flashSale)
        guard let sku = try await changing(id.rawValue, { try await catalog.updateSKU(id, update, now: clock.now) }) else {
            throw Self.skuNotFound
        }
        return sku
    }

    public func adjustStock(_ id: SKUID, delta: Int) async throws -> SKU {
        guard delta != 0, delta.magnitude <= UInt(CommerceValidation.maxStock) else {
            throw SwiftletError.invalid("catalog.invalid_stock_delta", "delta must be a non-zero number of units.")
        }
        guard let sku = try await changing(id.rawValue, { try await catalog.adjustStock(id, delta: delta, now: clock.now) }) else {
            throw Self.skuNotFound
        }
        return sku
    }

    public static let productNotFound = SwiftletError.notFound("catalog.product_not_found", "No such product.")
    static let skuNotFound = SwiftletError.notFound("catalog.sku_not_found", "No such SKU.")
}
