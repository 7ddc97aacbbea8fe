import Foundation
@testable import SwiftletHTTP
import SwiftletCore
import Testing

/// The hand-written catalogue JSON against the encoder it replaced: the same bytes, or the
/// peers' comparison and every client's parsing would notice.
@Suite("Catalogue JSON")
struct CatalogJSONTests {
    static func encoded(_ value: some Encodable) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }

    static var everyControlCharacter: String {
        var text = ""
        for value in 0..<0x20 { text.unicodeScalars.append(Unicode.Scalar(value)!) }
        return text
    }

    static let products: [Product] = {
        let now = Date(timeIntervalSince1970: 1_795_249_405.276)
        let tricky = Product(
            id: ProductID(rawValue: "p_a"), title: #"Tea "Dragon Well" \ 50/50 — 龙井"#,
            description: "Line one\nline two\ttabbed\r" + everyControlCharacter + "\u{7f}\u{2028}é",
            imageURL: "https://cdn.example.com/a/b.png?x=1&y=2", onShelf: true,
            skus: [SKU(id: SKUID(rawValue: "k_1"), productID: ProductID(rawValue: "p_a"), title: "50 g / tin", priceFen: 8800, stock: 0),
                   SKU(id: SKUID(rawValue: "k_2"), productID: ProductID(rawValue: "p_a"), title: "Flash", priceFen: 1, stock: 10_000_000,
                       flashSale: true)],
            createdAt: now, updatedAt: now.addingTimeInterval(0.001))
        let bare = Product(id: ProductID(rawValue: "p_b"), title: "No SKUs, no image", description: "", imageURL: nil, onShelf: false,
                           skus: [], createdAt: Date(timeIntervalSince1970: 0), updatedAt: Date(timeIntervalSince1970: 951_782_400))
        return [tricky, bare]
    }()

    /// Parsed, since `JSONEncoder` orders keys by its dictionary's hashing (so by run).
    static func parsed(_ text: String) throws -> NSDictionary {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? NSDictionary)
    }

    @Test("a page (with and without a next cursor) and a product carry what JSONEncoder writes for their DTOs")
    func equalsTheEncoder() throws {
        for cursor in [nil, "MTc5NTI0OTQwNTI3NjpwX3dnZmJ5/+=="] {
            let page = Page(items: Self.products, nextCursor: cursor)
            let written = CatalogJSON.page(page)
            #expect(try Self.parsed(written) == Self.parsed(try Self.encoded(PageDTO(page, ProductDTO.init))), "\(written)")
        }
        let empty = Page<Product>(items: [], nextCursor: nil)
        #expect(try Self.parsed(CatalogJSON.page(empty)) == Self.parsed(try Self.encoded(PageDTO(empty, ProductDTO.init))))
        for product in Self.products {
            #expect(try Self.parsed(CatalogJSON.product(product)) == Self.parsed(try Self.encoded(ProductDTO(product))))
        }
    }

    @Test("strings are escaped byte for byte as JSONEncoder escapes them (slashes, control characters)")
    func escapesAsTheEncoder() throws {
        struct Field: Encodable { let s: String }
        for text in [Self.products[0].title, Self.products[0].description, Self.products[0].imageURL ?? "", "plain"] {
            var written: [UInt8] = Array(#"{"s":"#.utf8)
            JSONText.appendEncoderString(text, to: &written)
            written.append(UInt8(ascii: "}"))
            #expect(String(decoding: written, as: UTF8.self) == (try Self.encoded(Field(s: text))))
        }
    }
}
