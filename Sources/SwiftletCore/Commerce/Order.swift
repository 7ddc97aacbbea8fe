import Foundation

/// A buyer's order. Items are snapshots (title and price at the time of ordering), so
/// later catalogue edits never change what was sold.
public struct Order: Sendable, Equatable {
    public var id: OrderID
    public var userID: UserID
    public var outTradeNo: OutTradeNo
    public var status: OrderStatus
    public var items: [OrderItem]
    /// Computed on the server from SKU prices; never taken from the client.
    public var totalFen: Int
    /// Sum of refunds that succeeded.
    public var refundedFen: Int
    /// Deadline for paying; also the `time_expire` sent to WeChat Pay.
    public var expiresAt: Date
    public var prepayID: String?
    public var prepayExpiresAt: Date?
    public var transactionID: String?
    public var paidAt: Date?
    public var cancelledAt: Date?
    public var cancelReason: CancelReason?
    public var shippedAt: Date?
    public var trackingNumber: String?
    public var completedAt: Date?
    /// The status an order returns to if its refund in progress fails.
    public var statusBeforeRefund: OrderStatus?
    /// Whether stock is currently held for this order (released exactly once).
    public var stockHeld: Bool
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: OrderID, userID: UserID, outTradeNo: OutTradeNo, status: OrderStatus, items: [OrderItem],
                totalFen: Int, refundedFen: Int = 0, expiresAt: Date, prepayID: String? = nil,
                prepayExpiresAt: Date? = nil, transactionID: String? = nil, paidAt: Date? = nil,
                cancelledAt: Date? = nil, cancelReason: CancelReason? = nil, shippedAt: Date? = nil,
                trackingNumber: String? = nil, completedAt: Date? = nil, statusBeforeRefund: OrderStatus? = nil,
                stockHeld: Bool = true, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.userID = userID
        self.outTradeNo = outTradeNo
        self.status = status
        self.items = items
        self.totalFen = totalFen
        self.refundedFen = refundedFen
        self.expiresAt = expiresAt
        self.prepayID = prepayID
        self.prepayExpiresAt = prepayExpiresAt
        self.transactionID = transactionID
        self.paidAt = paidAt
        self.cancelledAt = cancelledAt
        self.cancelReason = cancelReason
        self.shippedAt = shippedAt
        self.trackingNumber = trackingNumber
        self.completedAt = completedAt
        self.statusBeforeRefund = statusBeforeRefund
        self.stockHeld = stockHeld
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// What can still be refunded.
    public var refundableFen: Int { totalFen - refundedFen }

    /// A one-line description for WeChat's bill: at most 127 characters, and only
    /// characters of 1–3 UTF-8 bytes (WeChat Pay refuses emoji and other 4-byte ones).
    public var paymentDescription: String {
        let first = items.first?.title ?? "Order"
        let text = items.count > 1 ? "\(first) and \(items.count - 1) more" : first
        return Self.wechatPayText(text, limit: 127)
    }

    /// `text` reduced to what WeChat Pay accepts in free-text fields.
    public static func wechatPayText(_ text: String, limit: Int) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars where scalar.value <= 0xFFFF && scalars.count < limit {
            scalars.append(scalar)
        }
        let result = String(scalars).trimmingCharacters(in: .whitespaces)
        return result.isEmpty ? "Order" : result
    }
}

/// One line of an order.
public struct OrderItem: Sendable, Equatable {
    public var skuID: SKUID
    public var productID: ProductID
    public var title: String
    public var unitPriceFen: Int
    public var quantity: Int
    public init(skuID: SKUID, productID: ProductID, title: String, unitPriceFen: Int, quantity: Int) {
        self.skuID = skuID
        self.productID = productID
        self.title = title
        self.unitPriceFen = unitPriceFen
        self.quantity = quantity
    }

    public var subtotalFen: Int { unitPriceFen * quantity }
}

/// What a buyer asks for: SKUs and quantities. Prices are looked up, never trusted.
public struct OrderLineRequest: Sendable, Equatable, Hashable {
    public var skuID: SKUID
    public var quantity: Int
    public init(skuID: SKUID, quantity: Int) {
        self.skuID = skuID
        self.quantity = quantity
    }
}

/// Who or what cancelled an unpaid order.
public enum CancelReason: String, Sendable, Equatable, CaseIterable {
    case user, timeout, admin
}
