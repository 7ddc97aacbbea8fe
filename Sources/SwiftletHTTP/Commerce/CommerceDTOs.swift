import Foundation
import Hummingbird
import SwiftletCore
import SwiftletTransport

/// Wire types for the catalogue and orders. Money is integer fen everywhere.
struct SKUDTO: ResponseEncodable {
    let id: String
    let title: String
    let priceFen: Int
    let stock: Int
    /// Present (true) only on a flash-sale SKU, so a page of ordinary SKUs reads as before.
    let flashSale: Bool?

    init(_ sku: SKU) {
        id = sku.id.rawValue
        title = sku.title
        priceFen = sku.priceFen
        stock = sku.stock
        flashSale = sku.flashSale ? true : nil
    }
}

struct ProductDTO: ResponseEncodable {
    let id: String
    let title: String
    let description: String
    let imageUrl: String?
    let onShelf: Bool
    /// Lowest SKU price, for list views ("from ¥…").
    let priceFen: Int?
    let skus: [SKUDTO]
    let createdAt: String
    let updatedAt: String

    init(_ product: Product) {
        id = product.id.rawValue
        title = product.title
        description = product.description
        imageUrl = product.imageURL
        onShelf = product.onShelf
        priceFen = product.lowestPriceFen
        skus = product.skus.map(SKUDTO.init)
        createdAt = RFC3339.string(product.createdAt)
        updatedAt = RFC3339.string(product.updatedAt)
    }
}

struct PageDTO<Item: Encodable & Sendable>: ResponseEncodable {
    let items: [Item]
    let nextCursor: String?

    init<Source>(_ page: Page<Source>, _ transform: (Source) -> Item) {
        items = page.items.map(transform)
        nextCursor = page.nextCursor
    }
}

struct OrderItemDTO: Encodable, Sendable {
    let skuId: String
    let productId: String
    let title: String
    let unitPriceFen: Int
    let quantity: Int
    let subtotalFen: Int
}

struct OrderDTO: ResponseEncodable {
    let id: String
    let outTradeNo: String
    let status: String
    let items: [OrderItemDTO]
    let totalFen: Int
    let refundedFen: Int
    let expiresAt: String
    let paidAt: String?
    let cancelledAt: String?
    let cancelReason: String?
    let shippedAt: String?
    let trackingNumber: String?
    let completedAt: String?
    let createdAt: String
    let updatedAt: String
    /// Admin views only.
    let userId: String?
    let transactionId: String?

    init(_ order: Order, admin: Bool = false) {
        id = order.id.rawValue
        outTradeNo = order.outTradeNo.rawValue
        status = order.status.rawValue
        items = order.items.map {
            OrderItemDTO(skuId: $0.skuID.rawValue, productId: $0.productID.rawValue, title: $0.title,
                         unitPriceFen: $0.unitPriceFen, quantity: $0.quantity, subtotalFen: $0.subtotalFen)
        }
        totalFen = order.totalFen
        refundedFen = order.refundedFen
        expiresAt = RFC3339.string(order.expiresAt)
        paidAt = order.paidAt.map(RFC3339.string)
        cancelledAt = order.cancelledAt.map(RFC3339.string)
        cancelReason = order.cancelReason?.rawValue
        shippedAt = order.shippedAt.map(RFC3339.string)
        trackingNumber = order.trackingNumber
        completedAt = order.completedAt.map(RFC3339.string)
        createdAt = RFC3339.string(order.createdAt)
        updatedAt = RFC3339.string(order.updatedAt)
        userId = admin ? order.userID.rawValue : nil
        transactionId = admin ? order.transactionID : nil
    }
}

struct RefundDTO: ResponseEncodable {
    let id: String
    let orderId: String
    let amountFen: Int
    let reason: String?
    let status: String
    let createdAt: String
    let updatedAt: String

    init(_ refund: Refund) {
        id = refund.id.rawValue
        orderId = refund.orderID.rawValue
        amountFen = refund.amountFen
        reason = refund.reason
        status = refund.status.rawValue
        createdAt = RFC3339.string(refund.createdAt)
        updatedAt = RFC3339.string(refund.updatedAt)
    }
}

struct LedgerEntryDTO: Encodable, Sendable {
    let kind: String
    let reference: String?
    let gatewayState: String?
    let amountFen: Int?
    let outcome: String
    let createdAt: String

    init(_ entry: PaymentLedgerEntry) {
        kind = entry.kind.rawValue
        reference = entry.reference
        gatewayState = entry.gatewayState
        amountFen = entry.amountFen
        outcome = entry.outcome
        createdAt = RFC3339.string(entry.createdAt)
    }
}

struct AdminOrderDetailDTO: ResponseEncodable {
    let order: OrderDTO
    let refunds: [RefundDTO]
    let ledger: [LedgerEntryDTO]
}

struct RefundResultDTO: ResponseEncodable {
    let order: OrderDTO
    let refund: RefundDTO
}

struct PaymentDTO: ResponseEncodable {
    let order: OrderDTO
    /// Pass these to `wx.requestPayment` as they are.
    let payment: PaymentParameters
}

// MARK: Requests

struct SKUDraftRequest: Decodable {
    let title: String
    let priceFen: Int
    let stock: Int
    let flashSale: Bool?
    var draft: SKUDraft { SKUDraft(title: title, priceFen: priceFen, stock: stock, flashSale: flashSale ?? false) }
}

struct ProductCreateRequest: Decodable {
    let title: String
    let description: String?
    let imageUrl: String?
    let onShelf: Bool?
    let skus: [SKUDraftRequest]
}

struct ProductPatchRequest: Decodable {
    let title: String?
    let description: String?
    let imageUrl: String?
    let onShelf: Bool?
}

struct SKUPatchRequest: Decodable {
    let title: String?
    let priceFen: Int?
    let stock: Int?
    let flashSale: Bool?
}

struct StockAdjustmentRequest: Decodable {
    let delta: Int
}

struct OrderLineDTO: Decodable {
    let skuId: String
    let quantity: Int
}

struct OrderCreateRequest: Decodable {
    let items: [OrderLineDTO]
}

struct ShipRequest: Decodable {
    let trackingNumber: String?
}

struct RefundRequestDTO: Decodable {
    /// Omitted: refund everything still refundable.
    let amountFen: Int?
    let reason: String?
}
