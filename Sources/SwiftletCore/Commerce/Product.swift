import Foundation

/// A catalogue entry. Prices and stock live on its SKUs (one per variant such as size
/// or colour); a product without variants has exactly one SKU.
public struct Product: Sendable, Equatable {
    public var id: ProductID
    public var title: String
    public var description: String
    public var imageURL: String?
    /// Off-shelf products are invisible to buyers and cannot be ordered; orders already
    /// placed are unaffected.
    public var onShelf: Bool
    public var skus: [SKU]
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: ProductID, title: String, description: String, imageURL: String?, onShelf: Bool,
                skus: [SKU], createdAt: Date, updatedAt: Date) {
        self.id = id
        self.title = title
        self.description = description
        self.imageURL = imageURL
        self.onShelf = onShelf
        self.skus = skus
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The lowest SKU price, shown in lists as "from ¥…".
    public var lowestPriceFen: Int? { skus.map(\.priceFen).min() }
}

/// One purchasable variant of a product.
public struct SKU: Sendable, Equatable {
    public var id: SKUID
    public var productID: ProductID
    /// Variant label shown to buyers, e.g. "500 g" or "Red / L".
    public var title: String
    /// Price in integer fen (1/100 yuan): money is never a floating-point number.
    public var priceFen: Int
    /// Units available to new orders. Reserved units are already subtracted, so this
    /// can never be sold twice and never goes below zero (a database CHECK backs it up).
    public var stock: Int
    /// Sold in a flash sale (秒杀): one unit per order and one live order per buyer, a
    /// sold-out answer as soon as the units are gone, and (with Redis) the units gated in
    /// Redis before the database is asked. See docs/commerce.md, "Flash sales".
    public var flashSale: Bool

    public init(id: SKUID, productID: ProductID, title: String, priceFen: Int, stock: Int, flashSale: Bool = false) {
        self.id = id
        self.productID = productID
        self.title = title
        self.priceFen = priceFen
        self.stock = stock
        self.flashSale = flashSale
    }
}

/// A new SKU as an admin describes it.
public struct SKUDraft: Sendable, Equatable {
    public var title: String
    public var priceFen: Int
    public var stock: Int
    public var flashSale: Bool
    public init(title: String, priceFen: Int, stock: Int, flashSale: Bool = false) {
        self.title = title
        self.priceFen = priceFen
        self.stock = stock
        self.flashSale = flashSale
    }
}

/// A new product as an admin describes it.
public struct ProductDraft: Sendable, Equatable {
    public var title: String
    public var description: String
    public var imageURL: String?
    public var onShelf: Bool
    public var skus: [SKUDraft]
    public init(title: String, description: String = "", imageURL: String? = nil, onShelf: Bool = true, skus: [SKUDraft]) {
        self.title = title
        self.description = description
        self.imageURL = imageURL
        self.onShelf = onShelf
        self.skus = skus
    }
}

/// Changes to a product's own fields; nil leaves a field as it is.
public struct ProductUpdate: Sendable, Equatable {
    public var title: String?
    public var description: String?
    public var imageURL: String?
    public var onShelf: Bool?
    public init(title: String? = nil, description: String? = nil, imageURL: String? = nil, onShelf: Bool? = nil) {
        self.title = title
        self.description = description
        self.imageURL = imageURL
        self.onShelf = onShelf
    }
}

/// Changes to a SKU; nil leaves a field as it is.
public struct SKUUpdate: Sendable, Equatable {
    public var title: String?
    public var priceFen: Int?
    /// Absolute stock level. Use a stock adjustment (a delta) when orders may be racing.
    public var stock: Int?
    public var flashSale: Bool?
    public init(title: String? = nil, priceFen: Int? = nil, stock: Int? = nil, flashSale: Bool? = nil) {
        self.title = title
        self.priceFen = priceFen
        self.stock = stock
        self.flashSale = flashSale
    }
}

/// One page of a keyset-paginated list.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    /// Opaque cursor for the next page; nil on the last page.
    public var nextCursor: String?
    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }
}
