import Foundation

/// A SKU as order creation sees it: price, stock and whether it may be sold.
public struct SKUSnapshot: Sendable, Equatable {
    public var sku: SKU
    public var productTitle: String
    public var productOnShelf: Bool
    public init(sku: SKU, productTitle: String, productOnShelf: Bool) {
        self.sku = sku
        self.productTitle = productTitle
        self.productOnShelf = productOnShelf
    }
}

/// A new order with everything that must be stored with it atomically.
public struct NewOrder: Sendable {
    public var idempotencyKey: String
    /// SHA-256 of the canonical request: the same key with another body is a conflict.
    public var requestHash: String
    public var lines: [OrderLineRequest]
    /// Builds the order from the SKUs as stored (prices, shelf state) inside the
    /// transaction; throws to refuse. Pure: called by the repository.
    public var build: @Sendable ([SKUID: SKUSnapshot]) throws -> Order
    /// Jobs scheduled with the order (its unpaid timeout).
    public var jobs: @Sendable (Order) -> [JobRequest]

    public init(idempotencyKey: String, requestHash: String, lines: [OrderLineRequest],
                build: @escaping @Sendable ([SKUID: SKUSnapshot]) throws -> Order,
                jobs: @escaping @Sendable (Order) -> [JobRequest]) {
        self.idempotencyKey = idempotencyKey
        self.requestHash = requestHash
        self.lines = lines
        self.build = build
        self.jobs = jobs
    }
}

public enum OrderCreation: Sendable, Equatable {
    case created(Order)
    /// The same idempotency key and body were seen before: this is that order.
    case replayed(Order)
}

/// What stock an order change moves.
public enum StockEffect: Sendable, Equatable {
    case none
    /// Give the order's reserved units back (cancel, or full refund before shipping).
    case release
    /// Take the units again (a cancelled order revived by a late payment). Best effort:
    /// units that are no longer there are not taken (stock never goes negative).
    case reserveIfAvailable
}

/// The result of the core deciding what an event does to an order: the new order value
/// and everything that must be written with it in the same transaction.
public struct OrderMutation: Sendable {
    public var order: Order
    public var stock: StockEffect
    public var ledger: [PaymentLedgerEntry]
    /// A refund to insert or update.
    public var refund: Refund?
    public var jobs: [JobRequest]

    public init(order: Order, stock: StockEffect = .none, ledger: [PaymentLedgerEntry] = [], refund: Refund? = nil,
                jobs: [JobRequest] = []) {
        self.order = order
        self.stock = stock
        self.ledger = ledger
        self.refund = refund
        self.jobs = jobs
    }
}

public struct OrderFilter: Sendable, Equatable {
    public var userID: UserID?
    public var status: OrderStatus?
    public var outTradeNo: String?
    public init(userID: UserID? = nil, status: OrderStatus? = nil, outTradeNo: String? = nil) {
        self.userID = userID
        self.status = status
        self.outTradeNo = outTradeNo
    }
}

/// Storage port for orders, their refunds and the payment ledger.
public protocol OrderRepository: Sendable {
    /// Validates, reserves stock (never below zero), stores the order and its jobs in
    /// one transaction. Replays and idempotency conflicts are decided here atomically.
    func create(userID: UserID, _ new: NewOrder) async throws -> OrderCreation
    func find(_ id: OrderID) async throws -> Order?
    func find(outTradeNo: String) async throws -> Order?
    func list(_ filter: OrderFilter, limit: Int, cursor: String?) async throws -> Page<Order>
    /// Loads the order and its refunds, lets `decide` (pure) compute the change, and
    /// writes it with its stock effect, ledger lines, refund and jobs atomically. The
    /// order is written only if no concurrent change got there first (retried if so).
    func update(_ id: OrderID, _ decide: @escaping @Sendable (Order, [Refund]) throws -> OrderMutation) async throws -> Order
    func refunds(of id: OrderID) async throws -> [Refund]
    func findRefund(_ id: RefundID) async throws -> Refund?
    /// Appends ledger lines that belong to no order change (e.g. a rejected notify).
    func appendLedger(_ entries: [PaymentLedgerEntry]) async throws
    func ledger(outTradeNo: String) async throws -> [PaymentLedgerEntry]
}
