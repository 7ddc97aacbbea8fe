import SwiftletCore

/// The buyer's catalogue as JSON, written by hand: byte for byte what `JSONEncoder` writes
/// for `PageDTO<ProductDTO>` and `ProductDTO` (same fields in the same order, nil fields
/// left out, strings escaped alike; `CatalogJSONTests` compares them). The encoder's
/// reflection cost a seventh of an uncached page's CPU; this is what a page costs when the
/// catalogue cache misses, or is off.
enum CatalogJSON {
    static func page(_ page: Page<Product>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(512 * max(page.items.count, 1))
        out.append(contentsOf: #"{"items":["#.utf8)
        for (index, product) in page.items.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            append(product, to: &out)
        }
        out.append(UInt8(ascii: "]"))
        if let cursor = page.nextCursor {
            out.append(contentsOf: #","nextCursor":"#.utf8)
            JSONText.appendEncoderString(cursor, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    static func product(_ product: Product) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        append(product, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static func append(_ product: Product, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"id":"#.utf8)
        JSONText.appendEncoderString(product.id.rawValue, to: &out)
        out.append(contentsOf: #","title":"#.utf8)
        JSONText.appendEncoderString(product.title, to: &out)
        out.append(contentsOf: #","description":"#.utf8)
        JSONText.appendEncoderString(product.description, to: &out)
        if let imageURL = product.imageURL {
            out.append(contentsOf: #","imageUrl":"#.utf8)
            JSONText.appendEncoderString(imageURL, to: &out)
        }
        out.append(contentsOf: product.onShelf ? #","onShelf":true"#.utf8 : #","onShelf":false"#.utf8)
        if let price = product.lowestPriceFen {
            out.append(contentsOf: #","priceFen":"#.utf8)
            out.append(contentsOf: String(price).utf8)
        }
        out.append(contentsOf: #","skus":["#.utf8)
        for (index, sku) in product.skus.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"id":"#.utf8)
            JSONText.appendEncoderString(sku.id.rawValue, to: &out)
            out.append(contentsOf: #","title":"#.utf8)
            JSONText.appendEncoderString(sku.title, to: &out)
            out.append(contentsOf: #","priceFen":"#.utf8)
            out.append(contentsOf: String(sku.priceFen).utf8)
            out.append(contentsOf: #","stock":"#.utf8)
            out.append(contentsOf: String(sku.stock).utf8)
            if sku.flashSale { out.append(contentsOf: #","flashSale":true"#.utf8) }
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: #"],"createdAt":""#.utf8)
        RFC3339.append(unixMilliseconds: product.createdAt.unixMilliseconds, to: &out)
        out.append(contentsOf: #"","updatedAt":""#.utf8)
        RFC3339.append(unixMilliseconds: product.updatedAt.unixMilliseconds, to: &out)
        out.append(contentsOf: #""}"#.utf8)
    }
}
