import Foundation

/// Storage port for products and SKUs.
public protocol CatalogRepository: Sendable {
    func create(_ product: Product) async throws
    /// `includeOffShelf` is for admins; buyers never see off-shelf products.
    func find(_ id: ProductID, includeOffShelf: Bool) async throws -> Product?
    /// Newest first, keyset-paginated (`cursor` from the previous page).
    func list(includeOffShelf: Bool, limit: Int, cursor: String?) async throws -> Page<Product>
    func update(_ id: ProductID, _ update: ProductUpdate, now: Date) async throws -> Product?
    /// Removes a product from the catalogue; orders keep their snapshots.
    func delete(_ id: ProductID, now: Date) async throws -> Bool
    func addSKU(_ sku: SKU, now: Date) async throws -> Product?
    func updateSKU(_ id: SKUID, _ update: SKUUpdate, now: Date) async throws -> SKU?
    /// Adds `delta` (may be negative) atomically; nil if the SKU does not exist, and a
    /// conflict if stock would go below zero.
    func adjustStock(_ id: SKUID, delta: Int, now: Date) async throws -> SKU?
    func count() async throws -> Int
    /// Every flash-sale SKU with its units left and the buyers holding one (what
    /// `FlashSaleReconciler` compares the gate with).
    func flashSaleLedgers() async throws -> [FlashSaleLedger]
    /// The flash-sale SKUs' ids only, in id order (the reconciler's first, cheap read).
    func flashSaleSKUIDs() async throws -> [SKUID]
}
