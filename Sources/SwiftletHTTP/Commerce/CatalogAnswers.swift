import Foundation
import SwiftletCore
import SwiftletTransport

/// Which `CatalogCache` entry a buyer's catalogue request asks for (the answers themselves
/// are written by `CatalogJSON`).
enum CatalogAnswers {
    /// The page a raw query string asks for, read without decoding — or nil when the query
    /// holds anything but plain `limit` and `cursor` values (escapes, repeats, other
    /// parameters, a limit out of range), which the router then reads and answers in full.
    /// For plain values both readings agree, so both paths find the same entry.
    static func pageKey(rawQuery: Substring?) -> CatalogCache.Key? {
        var limit: Int?
        var cursor: String?
        if let rawQuery, !rawQuery.isEmpty {
            for pair in rawQuery.split(separator: "&", omittingEmptySubsequences: false) {
                guard let equals = pair.firstIndex(of: "=") else { return nil }
                let name = pair[..<equals]
                let value = pair[pair.index(after: equals)...]
                guard !value.isEmpty, !value.contains(where: { $0 == "%" || $0 == "+" }) else { return nil }
                switch name {
                case "limit" where limit == nil:
                    guard let parsed = Int(value) else { return nil }
                    limit = parsed
                case "cursor" where cursor == nil:
                    cursor = String(value)
                default:
                    return nil
                }
            }
        }
        guard let valid = try? CommerceValidation.pageLimit(limit) else { return nil }
        return .page(limit: valid, cursor: cursor)
    }
}
