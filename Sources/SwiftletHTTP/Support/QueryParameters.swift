import Hummingbird
import SwiftletCore
import SwiftletTransport

/// Query-string paging parameters with 400s for bad values.
enum PagingQuery {
    static func limit(_ query: Parameters) throws -> Int? {
        guard let text = query.get("limit") else { return nil }
        guard let limit = Int(text) else {
            throw SwiftletError.invalid("request.invalid_limit", "limit must be an integer from 1 to 100.")
        }
        return limit
    }

    static func identifier(_ query: Parameters, _ name: String) throws -> String? {
        guard let text = query.get(name) else { return nil }
        guard CommerceValidation.isIdentifier(text) else {
            throw SwiftletError.invalid("request.invalid_\(name)", "\(name) must be 1–64 letters, digits, _ or -.")
        }
        return text
    }

    static func status(_ query: Parameters) throws -> OrderStatus? {
        guard let text = query.get("status") else { return nil }
        guard let status = OrderStatus(rawValue: text) else {
            throw SwiftletError.invalid("request.invalid_status",
                                        "status must be one of \(OrderStatus.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        return status
    }
}
