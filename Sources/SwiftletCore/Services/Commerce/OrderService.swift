import Foundation

/// Limits for orders, from configuration.
public struct OrderPolicy: Sendable, Equatable {
    /// How long a buyer has to pay before the order is closed and its stock released.
    public var unpaidTimeout: TimeInterval
    public var maxQuantityPerItem: Int
    public init(unpaidTimeout: TimeInterval = 900, maxQuantityPerItem: Int = 99) {
        self.unpaidTimeout = unpaidTimeout
        self.maxQuantityPerItem = maxQuantityPerItem
    }
}

/// Placing and following orders (payment, cancellation and refunds are in
/// `PaymentService`, which has to talk to WeChat Pay).
public struct OrderService: Sendable {
    let orders: any OrderRepository
    let clock: SwiftletClock
    let policy: OrderPolicy

    public init(orders: any OrderRepository, clock: SwiftletClock, policy: OrderPolicy) {
        self.orders = orders
        self.clock = clock
        self.policy = policy
    }

    public static let timeoutJobKind = "order.payment_timeout"

    /// Creates an order, reserving stock in the same transaction. The same key with the
    /// same lines returns the first order; with other lines it is a conflict.
    public func create(userID: UserID, lines rawLines: [OrderLineRequest], idempotencyKey: String?) async throws -> OrderCreation {
        let key = try CommerceValidation.idempotencyKey(idempotencyKey)
        let lines = try CommerceValidation.lines(rawLines, maxQuantity: policy.maxQuantityPerItem)
        let canonical = lines.sorted { $0.skuID.rawValue < $1.skuID.rawValue }
            .map { "\($0.skuID.rawValue)x\($0.quantity)" }.joined(separator: ",")
        let now = clock.now
        let expiresAt = now.addingTimeInterval(policy.unpaidTimeout)
        let new = NewOrder(
            idempotencyKey: key, requestHash: SecretToken.hash(canonical), lines: lines,
            build: { skus in try Self.build(userID: userID, lines: lines, skus: skus, now: now, expiresAt: expiresAt) },
            jobs: { order in
                [JobRequest(kind: Self.timeoutJobKind, key: order.id.rawValue, payload: order.id.rawValue, runAt: order.expiresAt)]
            })
        return try await orders.create(userID: userID, new)
    }

    static func build(userID: UserID, lines: [OrderLineRequest], skus: [SKUID: SKUSnapshot], now: Date, expiresAt: Date) throws -> Order {
        var items: [OrderItem] = []
        for line in lines {
            guard let snapshot = skus[line.skuID] else {
                throw SwiftletError.invalid("order.unknown_sku", "SKU \(line.skuID) does not exist.")
            }
            guard snapshot.productOnShelf else {
                throw SwiftletError.conflict("order.off_shelf", "\(snapshot.productTitle) is not on sale.")
            }
            guard !snapshot.sku.flashSale || (lines.count == 1 && line.quantity == 1) else {
                throw SwiftletError.invalid(
                    "order.flash_sale_one_unit", "\(snapshot.productTitle) \(snapshot.sku.title) is sold one unit per order, on its own.")
            }
            guard snapshot.sku.stock >= line.quantity else {
                throw outOfStock(snapshot)
            }
            items.append(OrderItem(
                skuID: line.skuID, productID: snapshot.sku.productID, title: "\(snapshot.productTitle) \(snapshot.sku.title)",
                unitPriceFen: snapshot.sku.priceFen, quantity: line.quantity))
        }
        let total = items.reduce(0) { $0 + $1.subtotalFen }
        guard total <= CommerceValidation.maxAmountFen else {
            throw SwiftletError.invalid("order.total_too_large", "The order total exceeds \(CommerceValidation.maxAmountFen) fen.")
        }
        return Order(id: .generate(), userID: userID, outTradeNo: .generate(), status: .pendingPayment, items: items,
                     totalFen: total, expiresAt: expiresAt, createdAt: now, updatedAt: now)
    }

    /// A flash-sale SKU's last unit gone is `order.sold_out`: the answer its losers get.
    public static func outOfStock(_ snapshot: SKUSnapshot) -> SwiftletError {
        snapshot.sku.flashSale ? soldOut
            : SwiftletError.conflict("order.out_of_stock", "Not enough stock for \(snapshot.productTitle) \(snapshot.sku.title).")
    }

    public static let soldOut = SwiftletError.conflict("order.sold_out", "This flash sale is sold out.")

    /// A buyer holds one live order per flash-sale SKU (a cancelled one frees it).
    public static let flashSaleLimit = SwiftletError.conflict(
        "order.flash_sale_limit", "You already have an order for this flash-sale item.")

    /// The caller's own order; someone else's is reported as missing.
    public func order(_ id: OrderID, of userID: UserID) async throws -> Order {
        guard let order = try await orders.find(id), order.userID == userID else { throw Self.notFound }
        return order
    }

    public func list(of userID: UserID, status: OrderStatus?, limit: Int?, cursor: String?) async throws -> Page<Order> {
        try await orders.list(OrderFilter(userID: userID, status: status), limit: try CommerceValidation.pageLimit(limit), cursor: cursor)
    }

    /// The buyer confirms receipt.
    public func confirmReceipt(_ id: OrderID, of userID: UserID) async throws -> Order {
        _ = try await order(id, of: userID)
        return try await transition(id, .complete, action: "completed")
    }

    // MARK: Admin

    public func adminList(_ filter: OrderFilter, limit: Int?, cursor: String?) async throws -> Page<Order> {
        try await orders.list(filter, limit: try CommerceValidation.pageLimit(limit), cursor: cursor)
    }

    public func adminOrder(_ id: OrderID) async throws -> (order: Order, refunds: [Refund], ledger: [PaymentLedgerEntry]) {
        guard let order = try await orders.find(id) else { throw Self.notFound }
        return (order, try await orders.refunds(of: id), try await orders.ledger(outTradeNo: order.outTradeNo.rawValue))
    }

    public func ship(_ id: OrderID, trackingNumber: String?) async throws -> Order {
        let tracking = try trackingNumber.map(CommerceValidation.trackingNumber)
        let now = clock.now
        return try await orders.update(id) { order, _ in
            guard var next = try OrderTransitions.apply(.ship, to: order, now: now, action: "shipped") else {
                return OrderMutation(order: order)
            }
            next.trackingNumber = tracking ?? order.trackingNumber
            return OrderMutation(order: next)
        }
    }

    public func complete(_ id: OrderID) async throws -> Order {
        try await transition(id, .complete, action: "completed")
    }

    private func transition(_ id: OrderID, _ event: OrderEvent, action: String) async throws -> Order {
        let now = clock.now
        return try await orders.update(id) { order, _ in
            OrderMutation(order: try OrderTransitions.apply(event, to: order, now: now, action: action) ?? order)
        }
    }

    static let notFound = SwiftletError.notFound("order.not_found", "No such order.")
}
