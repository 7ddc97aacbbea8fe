import Foundation
import HTTPTypes
import Hummingbird
import SwiftletCore
import SwiftletTransport

/// The buyer's orders under `/api/v1/orders` and the admin side under `/admin/v1/orders`.
public struct OrderRoutes: Sendable {
    let orders: OrderService
    let payments: PaymentService
    let refunds: RefundService

    public init(orders: OrderService, payments: PaymentService, refunds: RefundService) {
        self.orders = orders
        self.payments = payments
        self.refunds = refunds
    }

    public func register(buyer api: RouterGroup<SwiftletRequestContext>, admin: RouterGroup<SwiftletRequestContext>) {
        api.post("/orders") { request, context -> EditedResponse<OrderDTO> in
            let principal = try context.requirePrincipal()
            let body = try await request.decodeJSON(OrderCreateRequest.self, context: context)
            let result = try await orders.create(
                userID: principal.userID,
                lines: body.items.map { OrderLineRequest(skuID: SKUID(rawValue: $0.skuId), quantity: $0.quantity) },
                idempotencyKey: request.headers[.idempotencyKey])
            switch result {
            case .created(let order):
                return EditedResponse(status: .created, headers: [.location: "/api/v1/orders/\(order.id)"], response: OrderDTO(order))
            case .replayed(let order):
                return EditedResponse(status: .ok, headers: [.idempotentReplayed: "true"], response: OrderDTO(order))
            }
        }
        api.get("/orders") { request, context -> PageDTO<OrderDTO> in
            let query = request.uri.queryParameters
            let page = try await orders.list(of: try context.requirePrincipal().userID, status: try PagingQuery.status(query),
                                             limit: try PagingQuery.limit(query), cursor: query.get("cursor"))
            return PageDTO(page) { OrderDTO($0) }
        }
        api.get("/orders/{id}") { _, context -> OrderDTO in
            OrderDTO(try await orders.order(try Self.orderID(context), of: try context.requirePrincipal().userID))
        }
        api.post("/orders/{id}/cancel") { _, context -> OrderDTO in
            OrderDTO(try await payments.cancel(try Self.orderID(context), by: try context.requirePrincipal().userID))
        }
        api.post("/orders/{id}/pay") { _, context -> PaymentDTO in
            let result = try await payments.pay(try Self.orderID(context), by: try context.requirePrincipal().userID)
            return PaymentDTO(order: OrderDTO(result.order), payment: result.parameters)
        }
        api.post("/orders/{id}/confirm-receipt") { _, context -> OrderDTO in
            OrderDTO(try await orders.confirmReceipt(try Self.orderID(context), of: try context.requirePrincipal().userID))
        }

        admin.get("/orders") { request, _ -> PageDTO<OrderDTO> in
            let query = request.uri.queryParameters
            let filter = OrderFilter(userID: try PagingQuery.identifier(query, "userId").map(UserID.init(rawValue:)),
                                     status: try PagingQuery.status(query),
                                     outTradeNo: try PagingQuery.identifier(query, "outTradeNo"))
            let page = try await orders.adminList(filter, limit: try PagingQuery.limit(query), cursor: query.get("cursor"))
            return PageDTO(page) { OrderDTO($0, admin: true) }
        }
        admin.get("/orders/{id}") { _, context -> AdminOrderDetailDTO in
            let detail = try await orders.adminOrder(try Self.orderID(context))
            return AdminOrderDetailDTO(order: OrderDTO(detail.order, admin: true), refunds: detail.refunds.map(RefundDTO.init),
                                       ledger: detail.ledger.map(LedgerEntryDTO.init))
        }
        admin.post("/orders/{id}/ship") { request, context -> OrderDTO in
            let body = try await Self.optionalJSON(ShipRequest.self, request, context)
            return OrderDTO(try await orders.ship(try Self.orderID(context), trackingNumber: body?.trackingNumber), admin: true)
        }
        admin.post("/orders/{id}/complete") { _, context -> OrderDTO in
            OrderDTO(try await orders.complete(try Self.orderID(context)), admin: true)
        }
        admin.post("/orders/{id}/cancel") { _, context -> OrderDTO in
            OrderDTO(try await payments.adminCancel(try Self.orderID(context)), admin: true)
        }
        admin.post("/orders/{id}/refunds") { request, context -> EditedResponse<RefundResultDTO> in
            let body = try await Self.optionalJSON(RefundRequestDTO.self, request, context)
            let result = try await refunds.refund(try Self.orderID(context), amountFen: body?.amountFen, reason: body?.reason)
            return EditedResponse(status: .created,
                                  response: RefundResultDTO(order: OrderDTO(result.order, admin: true), refund: RefundDTO(result.refund)))
        }
    }

    static func orderID(_ context: SwiftletRequestContext) throws -> OrderID {
        OrderID(rawValue: try context.parameters.require("id"))
    }

    /// Bodies that may be omitted entirely.
    static func optionalJSON<T: Decodable>(_ type: T.Type, _ request: Request, _ context: SwiftletRequestContext) async throws -> T? {
        var request = request
        let buffer = try await request.collectBody(upTo: context.maxUploadSize)
        guard buffer.readableBytes > 0 else { return nil }
        return try await request.decodeJSON(type, context: context)
    }
}

extension HTTPField.Name {
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
}
