import Foundation
import SQLKit
import SwiftletCore

/// Opaque page cursors for newest-first lists: the last row's `(created_at, id)`.
///
/// Keyset pagination instead of OFFSET: a page costs the same however deep it is, and
/// rows inserted meanwhile never shift or repeat items across pages.
struct KeysetCursor: Equatable {
    var createdAt: Int64
    var id: String

    var encoded: String { Base64URL.encode(Array("\(createdAt):\(id)".utf8)) }

    static func decode(_ text: String?) throws -> KeysetCursor? {
        guard let text, !text.isEmpty else { return nil }
        guard text.utf8.count <= 200, let bytes = Base64URL.decode(Substring(text)),
              let plain = String(bytes: bytes, encoding: .utf8),
              let colon = plain.firstIndex(of: ":"),
              let createdAt = Int64(plain[..<colon])
        else {
            throw SwiftletError.invalid("request.invalid_cursor", "The cursor is not one this server issued.")
        }
        let id = String(plain[plain.index(after: colon)...])
        guard CommerceValidation.isIdentifier(id) else {
            throw SwiftletError.invalid("request.invalid_cursor", "The cursor is not one this server issued.")
        }
        return KeysetCursor(createdAt: createdAt, id: id)
    }

    /// Ends a newest-first query: rows after `after` (if any), in order, `limit + 1` of them
    /// (the extra row says whether there is a next page).
    static func appendPage(after: KeysetCursor?, limit: Int, to query: inout SQLQueryString) {
        if let after {
            query.appendInterpolation(unsafeRaw: " AND (created_at < ")
            query.appendInterpolation(bind: after.createdAt)
            query.appendInterpolation(unsafeRaw: " OR (created_at = ")
            query.appendInterpolation(bind: after.createdAt)
            query.appendInterpolation(unsafeRaw: " AND id < ")
            query.appendInterpolation(bind: after.id)
            query.appendInterpolation(unsafeRaw: "))")
        }
        // The limit is bound, so a list's text is the same whatever the limit (prepared once).
        query.appendInterpolation(unsafeRaw: " ORDER BY created_at DESC, id DESC LIMIT ")
        query.appendInterpolation(bind: limit + 1)
    }

    /// Splits a `limit + 1` fetch into the page and the cursor for the next one.
    static func page<Item>(_ rows: [Item], limit: Int, key: (Item) -> KeysetCursor) -> Page<Item> {
        guard rows.count > limit else { return Page(items: rows, nextCursor: nil) }
        let items = Array(rows.prefix(limit))
        return Page(items: items, nextCursor: items.last.map { key($0).encoded })
    }
}
