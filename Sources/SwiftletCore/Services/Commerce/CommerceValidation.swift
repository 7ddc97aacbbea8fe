import Foundation

/// Input rules for the catalogue and orders. Each failure is a 400 naming the field.
public enum CommerceValidation {
    /// Largest price or order total accepted (¥1,000,000), far below WeChat's limits and
    /// any integer overflow.
    public static let maxAmountFen = 100_000_000
    public static let maxStock = 10_000_000

    public static func title(_ text: String, field: String = "title") throws -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard Validation.fits(trimmed, characters: 1...120), !Validation.containsControlCharacters(trimmed) else {
            throw SwiftletError.invalid(
                "catalog.invalid_\(field)", "The \(field) must be 1–120 printable characters (at most \(Validation.maxBytes(120)) bytes in UTF-8).")
        }
        return trimmed
    }

    public static func description(_ text: String) throws -> String {
        let allowed: Set<Unicode.Scalar> = ["\n", "\r", "\t"]
        guard Validation.fits(text, characters: 0...4000),
              !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && !allowed.contains($0) })
        else {
            throw SwiftletError.invalid(
                "catalog.invalid_description",
                "The description must be at most 4000 characters (\(Validation.maxBytes(4000)) bytes in UTF-8), without control characters.")
        }
        return text
    }

    public static func trackingNumber(_ text: String) throws -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard Validation.fits(trimmed, characters: 1...64), !Validation.containsControlCharacters(trimmed) else {
            throw SwiftletError.invalid(
                "order.invalid_tracking_number",
                "The tracking number must be 1–64 printable characters (at most \(Validation.maxBytes(64)) bytes in UTF-8).")
        }
        return trimmed
    }

    /// Whether `text` can be one of our identifiers (or WeChat's out_trade_no): 1–64
    /// ASCII letters, digits, `_`, `-`. Checked before anything reaches the database,
    /// so odd bytes (a NUL, for one) are a 400 rather than a driver error.
    public static func isIdentifier(_ text: String) -> Bool {
        ASCIIToken.matches(text, length: 1...64)
    }

    public static func imageURL(_ text: String?) throws -> String? {
        guard let text, !text.isEmpty else { return nil }
        do {
            return try Validation.avatarURL(text)
        } catch {
            throw SwiftletError.invalid("catalog.invalid_image_url", "The image URL must be an http(s) URL of at most 1024 characters.")
        }
    }

    public static func price(_ fen: Int) throws -> Int {
        guard (1...maxAmountFen).contains(fen) else {
            throw SwiftletError.invalid("catalog.invalid_price", "The price is in integer fen, 1 to \(maxAmountFen).")
        }
        return fen
    }

    public static func stock(_ units: Int) throws -> Int {
        guard (0...maxStock).contains(units) else {
            throw SwiftletError.invalid("catalog.invalid_stock", "Stock must be 0 to \(maxStock) units.")
        }
        return units
    }

    public static func sku(_ draft: SKUDraft) throws -> SKUDraft {
        SKUDraft(title: try title(draft.title, field: "sku_title"), priceFen: try price(draft.priceFen), stock: try stock(draft.stock),
                 flashSale: draft.flashSale)
    }

    /// Idempotency keys are client-chosen: 1–64 visible ASCII characters.
    public static func idempotencyKey(_ key: String?) throws -> String {
        guard let key, !key.isEmpty else {
            throw SwiftletError.invalid("order.idempotency_key_required", "Send an Idempotency-Key header (1–64 visible ASCII characters) so a retried request cannot create a second order.")
        }
        guard key.utf8.count <= 64, key.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw SwiftletError.invalid("order.invalid_idempotency_key", "The Idempotency-Key must be 1–64 visible ASCII characters.")
        }
        return key
    }

    public static func lines(_ lines: [OrderLineRequest], maxQuantity: Int) throws -> [OrderLineRequest] {
        guard (1...50).contains(lines.count) else {
            throw SwiftletError.invalid("order.invalid_items", "An order has 1 to 50 items.")
        }
        var seen = Set<SKUID>()
        for line in lines {
            guard isIdentifier(line.skuID.rawValue) else {
                throw SwiftletError.invalid("order.invalid_sku", "Each item needs a skuId (letters, digits, _ and -).")
            }
            guard (1...maxQuantity).contains(line.quantity) else {
                throw SwiftletError.invalid("order.invalid_quantity", "Each quantity must be 1 to \(maxQuantity).")
            }
            guard seen.insert(line.skuID).inserted else {
                throw SwiftletError.invalid("order.duplicate_item", "SKU \(line.skuID) appears twice; send one line with the total quantity.")
            }
        }
        return lines
    }

    public static func pageLimit(_ limit: Int?) throws -> Int {
        guard let limit else { return 20 }
        guard (1...100).contains(limit) else {
            throw SwiftletError.invalid("request.invalid_limit", "limit must be 1 to 100.")
        }
        return limit
    }
}
