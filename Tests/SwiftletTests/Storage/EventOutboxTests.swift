import Foundation
import SQLKit
import SwiftletCore
import SwiftletSQLStorage
import Synchronization
import Testing

/// The event outbox on every engine: each change writes exactly its domain events in its
/// own transaction (and a change that fails writes none), positions are gapless and seen
/// in order even while concurrent transactions write, and no personal data leaves.
@Suite("Event outbox")
struct EventOutboxTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    struct Refused: Error {}

    /// A buyer, a product with one SKU and helpers that move orders the way the services do.
    struct Shop {
        let storage: any StorageEngine
        let buyer: UserID
        let sku: SKUID

        static func open(_ storage: any StorageEngine, stock: Int = 50) async throws -> Shop {
            let buyer = try await storage.users.findOrCreate(openid: "o-buyer", unionid: nil).user.id
            let product = try await CatalogService(catalog: storage.catalog, clock: .system)
                .create(ProductDraft(title: "Tea", skus: [SKUDraft(title: "Tin", priceFen: 1999, stock: stock)]))
            return Shop(storage: storage, buyer: buyer, sku: product.skus[0].id)
        }

        func place(_ key: String, quantity: Int = 1) async throws -> Order {
            let service = OrderService(orders: storage.orders, clock: .system, policy: OrderPolicy())
            let creation = try await service.create(
                userID: buyer, lines: [OrderLineRequest(skuID: sku, quantity: quantity)], idempotencyKey: key)
            guard case .created(let order) = creation else { throw TestSetupError("order \(key) was not created") }
            return order
        }

        @discardableResult
        func move(_ order: Order, _ event: OrderEvent, stock: StockEffect = .none) async throws -> Order {
            try await storage.orders.update(order.id) { current, _ in
                guard let next = try OrderTransitions.apply(event, to: current, now: EventOutboxTests.t0, action: "moved") else {
                    return OrderMutation(order: current)
                }
                return OrderMutation(order: next, stock: stock)
            }
        }

        /// Requests a refund as `RefundService` does: the order moves to refunding and the
        /// refund is stored as processing.
        func requestRefund(_ order: Order, amountFen: Int) async throws -> RefundID {
            let id = RefundID.generate()
            _ = try await storage.orders.update(order.id) { current, _ in
                guard let next = try OrderTransitions.apply(.refundRequested, to: current, now: EventOutboxTests.t0, action: "refunded") else {
                    throw TestSetupError("refund not started")
                }
                return OrderMutation(order: next, refund: Refund(
                    id: id, orderID: current.id, amountFen: amountFen, reason: "changed mind", status: .processing,
                    createdAt: EventOutboxTests.t0, updatedAt: EventOutboxTests.t0))
            }
            return id
        }

        /// Settles a refund as `RefundService.resolve` does (a settled one stays as it is).
        func settle(_ id: RefundID, _ status: RefundStatus) async throws {
            guard let refund = try await storage.orders.findRefund(id) else { throw TestSetupError("no refund \(id)") }
            let now = EventOutboxTests.t0.addingTimeInterval(60)
            _ = try await storage.orders.update(refund.orderID) { order, refunds in
                guard var current = refunds.first(where: { $0.id == id }) else { throw TestSetupError("refund not listed") }
                guard current.status.isOpen else { return OrderMutation(order: order) }
                current.status = status
                current.gatewayRefundID = "50300000000000000000000001"
                current.updatedAt = now
                let restoreTo = order.statusBeforeRefund ?? .paid
                var next = order
                switch status {
                case .succeeded:
                    next.refundedFen += current.amountFen
                    next = try OrderTransitions.apply(
                        .refundSucceeded(remainingFen: next.totalFen - next.refundedFen, restoreTo: restoreTo),
                        to: next, now: now, action: "refunded") ?? next
                case .closed:
                    next = try OrderTransitions.apply(.refundFailed(restoreTo: restoreTo), to: next, now: now, action: "restored") ?? next
                case .processing, .abnormal:
                    break
                }
                return OrderMutation(order: next, refund: current)
            }
        }
    }

    static func payload(_ event: DomainEvent) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(event.payload.utf8)) as? [String: Any] else {
            throw TestSetupError("payload of \(event.type) is not an object")
        }
        return object
    }

    /// Every event after `cursor`, read in pages of `pageSize`.
    static func all(_ outbox: any EventOutboxRepository, after cursor: Int64 = 0, pageSize: Int = 100) async throws -> [StoredDomainEvent] {
        var result: [StoredDomainEvent] = []
        var cursor = cursor
        while true {
            let page = try await outbox.events(after: cursor, limit: pageSize)
            guard let last = page.last else { return result }
            result += page
            cursor = last.position
        }
    }

    /// The events written since `cursor`, and the new cursor.
    static func since(_ outbox: any EventOutboxRepository, _ cursor: inout Int64) async throws -> [DomainEvent] {
        let events = try await all(outbox, after: cursor)
        cursor = events.last?.position ?? cursor
        return events.map(\.event)
    }

    static func executor(_ storage: any StorageEngine) throws -> any SQLExecutor {
        guard let executor = storage as? any SQLExecutor else { throw TestSetupError("not a SQL engine") }
        return executor
    }

    static func event(_ type: String, at date: Date) -> DomainEvent {
        DomainEvent(type: type, aggregateType: DomainEventTypes.Aggregate.order, aggregateID: "o_test",
                    payload: #"{"version":1}"#, occurredAt: date)
    }

    // MARK: Orders

    @Test("placing an order writes order.created with it; a replay and a refused order write nothing", arguments: EngineKind.available)
    func orderCreated(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let shop = try await Shop.open(storage, stock: 5)
            var cursor: Int64 = 1
            #expect(try await storage.events.count() == 1, "the buyer's user.created")
            let order = try await shop.place("k-1", quantity: 2)
            let created = try await Self.since(storage.events, &cursor)
            #expect(created.map(\.type) == [DomainEventTypes.orderCreated])
            #expect(created.first?.aggregateType == "order" && created.first?.aggregateID == order.id.rawValue)
            #expect(created.first?.version == 1 && created.first?.id.rawValue.hasPrefix("evt_") == true)
            #expect(created.first?.occurredAt == Date(unixMilliseconds: order.createdAt.unixMilliseconds))
            let payload = try Self.payload(try #require(created.first))
            #expect(payload["version"] as? Int == 1)
            #expect(payload["orderId"] as? String == order.id.rawValue)
            #expect(payload["outTradeNo"] as? String == order.outTradeNo.rawValue)
            #expect(payload["userId"] as? String == shop.buyer.rawValue)
            #expect(payload["status"] as? String == "pending_payment" && payload["previousStatus"] == nil)
            #expect(payload["totalFen"] as? Int == 3998 && payload["refundedFen"] as? Int == 0)
            #expect(payload["createdAt"] as? String == RFC3339.string(order.createdAt))
            #expect(payload["expiresAt"] as? String == RFC3339.string(order.expiresAt))

            _ = try await OrderService(orders: storage.orders, clock: .system, policy: OrderPolicy()).create(
                userID: shop.buyer, lines: [OrderLineRequest(skuID: shop.sku, quantity: 2)], idempotencyKey: "k-1")
            await #expect(throws: SwiftletError.self, "out of stock") { _ = try await shop.place("k-2", quantity: 4) }
            #expect(try await Self.since(storage.events, &cursor).isEmpty)
            #expect(try await storage.events.count() == 2)
        }
    }

    @Test("each status change writes its own type: paid, shipped, completed, cancelled, closed on timeout, revived", arguments: EngineKind.available)
    func orderChanges(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let shop = try await Shop.open(storage)
            let a = try await shop.place("k-a"), b = try await shop.place("k-b"), c = try await shop.place("k-c"), d = try await shop.place("k-d")
            var cursor: Int64 = 5
            #expect(try await storage.events.count() == 5, "user.created and four order.created")

            try await shop.move(a, .paymentConfirmed)
            try await shop.move(a, .paymentConfirmed)
            try await shop.move(a, .ship)
            try await shop.move(a, .complete)
            try await shop.move(b, .cancel(.user), stock: .release)
            try await shop.move(b, .cancel(.user), stock: .release)
            try await shop.move(c, .cancel(.timeout), stock: .release)
            try await shop.move(d, .cancel(.admin), stock: .release)
            try await shop.move(c, .paymentConfirmed, stock: .reserveIfAvailable)
            let events = try await Self.since(storage.events, &cursor)
            #expect(events.map(\.type) == [
                "order.paid", "order.shipped", "order.completed", "order.cancelled", "order.closed", "order.cancelled", "order.paid",
            ], "repeats change nothing and write nothing")
            #expect(events.map(\.aggregateID) == [a, a, a, b, c, d, c].map(\.id.rawValue))
            #expect(events.allSatisfy { $0.occurredAt == Self.t0 })

            let paid = try Self.payload(events[0])
            #expect(paid["status"] as? String == "paid" && paid["previousStatus"] as? String == "pending_payment")
            #expect(paid["paidAt"] as? String == RFC3339.string(Self.t0) && paid["expiresAt"] == nil)
            let completed = try Self.payload(events[2])
            #expect(completed["shippedAt"] as? String == RFC3339.string(Self.t0) && completed["completedAt"] as? String == RFC3339.string(Self.t0))
            let cancelled = try Self.payload(events[3]), closed = try Self.payload(events[4]), byAdmin = try Self.payload(events[5])
            #expect(cancelled["cancelReason"] as? String == "user" && cancelled["cancelledAt"] as? String == RFC3339.string(Self.t0))
            #expect(closed["cancelReason"] as? String == "timeout" && closed["status"] as? String == "cancelled")
            #expect(byAdmin["cancelReason"] as? String == "admin")
            let revived = try Self.payload(events[6])
            #expect(revived["previousStatus"] as? String == "cancelled" && revived["cancelReason"] == nil)
        }
    }

    @Test("refunds: requested → order.refunding; a final outcome → refund.succeeded or refund.failed, then order.refunded when nothing is left", arguments: EngineKind.available)
    func refunds(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let shop = try await Shop.open(storage)
            let order = try await shop.place("k-r")
            try await shop.move(order, .paymentConfirmed)
            try await shop.move(order, .ship)
            var cursor: Int64 = 4
            #expect(try await storage.events.count() == 4, "user.created, order.created, order.paid, order.shipped")

            let partial = try await shop.requestRefund(order, amountFen: 500)
            #expect(try await Self.since(storage.events, &cursor).map(\.type) == ["order.refunding"])
            try await shop.settle(partial, .succeeded)
            let partialEvents = try await Self.since(storage.events, &cursor)
            #expect(partialEvents.map(\.type) == ["refund.succeeded"], "the order's return to shipped is told by the refund's event")
            #expect(partialEvents.first?.aggregateType == "refund" && partialEvents.first?.aggregateID == partial.rawValue)
            let succeeded = try Self.payload(try #require(partialEvents.first))
            #expect(succeeded["version"] as? Int == 1 && succeeded["refundId"] as? String == partial.rawValue)
            #expect(succeeded["orderId"] as? String == order.id.rawValue && succeeded["outTradeNo"] as? String == order.outTradeNo.rawValue)
            #expect(succeeded["status"] as? String == "succeeded" && succeeded["amountFen"] as? Int == 500)
            #expect(succeeded["orderStatus"] as? String == "shipped" && succeeded["orderRefundedFen"] as? Int == 500)
            #expect(succeeded["orderTotalFen"] as? Int == 1999 && succeeded["reason"] == nil, "free text stays out")
            #expect(succeeded["settledAt"] as? String == RFC3339.string(Self.t0.addingTimeInterval(60)))
            try await shop.settle(partial, .succeeded)
            #expect(try await Self.since(storage.events, &cursor).isEmpty, "a repeated outcome writes nothing")

            let failing = try await shop.requestRefund(order, amountFen: 700)
            try await shop.settle(failing, .abnormal)
            try await shop.settle(failing, .closed)
            let failedEvents = try await Self.since(storage.events, &cursor)
            #expect(failedEvents.map(\.type) == ["order.refunding", "refund.failed"], "abnormal is not final")
            let failed = try Self.payload(failedEvents[1])
            #expect(failed["status"] as? String == "closed" && failed["orderStatus"] as? String == "shipped")
            #expect(failed["orderRefundedFen"] as? Int == 500)

            let rest = try await shop.requestRefund(order, amountFen: 1499)
            try await shop.settle(rest, .succeeded)
            let fullEvents = try await Self.since(storage.events, &cursor)
            #expect(fullEvents.map(\.type) == ["order.refunding", "refund.succeeded", "order.refunded"], "cause before effect")
            let refunded = try Self.payload(fullEvents[2])
            #expect(refunded["status"] as? String == "refunded" && refunded["previousStatus"] as? String == "refunding")
            #expect(refunded["refundedFen"] as? Int == 1999)
        }
    }

    // MARK: Failures

    @Test("a change that throws writes no event, and a rolled-back append leaves no position behind", arguments: EngineKind.available)
    func failuresWriteNothing(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let shop = try await Shop.open(storage)
            let order = try await shop.place("k-f")
            #expect(try await storage.events.count() == 2)
            await #expect(throws: SwiftletError.self) { try await shop.move(order, .ship) }
            await #expect(throws: Refused.self) {
                _ = try await storage.orders.update(order.id) { current, _ in
                    _ = try OrderTransitions.apply(.paymentConfirmed, to: current, now: Self.t0, action: "paid")
                    throw Refused()
                }
            }
            #expect(try await storage.events.count() == 2)

            let executor = try Self.executor(storage)
            await #expect(throws: Refused.self) {
                try await executor.transaction { db in
                    let stored = try await SQLEventOutboxRepository.append(db, [Self.event("order.paid", at: Self.t0)])
                    #expect(stored.map(\.position) == [3])
                    throw Refused()
                }
            }
            #expect(try await storage.events.count() == 2)
            try await shop.move(order, .paymentConfirmed)
            #expect(try await Self.all(storage.events).map(\.position) == [1, 2, 3], "the rolled-back position is given again")
        }
    }

    // MARK: Users

    @Test("user.created only for a user really created, carrying the id and time and no personal data", arguments: EngineKind.available)
    func userCreated(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let (user, created) = try await storage.users.findOrCreate(openid: "o-secret-openid", unionid: "un-secret-unionid")
            #expect(created)
            _ = try await storage.users.updatePhone(id: user.id, phone: "+8613800000000")
            _ = try await storage.users.updateProfile(id: user.id, ProfileUpdate(nickname: "Secret Nick", avatarURL: "https://a.example/x.png"))
            #expect(try await storage.users.findOrCreate(openid: "o-secret-openid", unionid: "un-secret-unionid").created == false)
            let events = try await Self.all(storage.events)
            #expect(events.map(\.event.type) == ["user.created"], "a login that finds the user writes nothing")
            let event = try #require(events.first?.event)
            #expect(event.aggregateType == "user" && event.aggregateID == user.id.rawValue)
            #expect(event.occurredAt == user.createdAt)
            let payload = try Self.payload(event)
            #expect(Set(payload.keys) == ["version", "userId", "createdAt"])
            #expect(payload["userId"] as? String == user.id.rawValue)
            #expect(payload["createdAt"] as? String == RFC3339.string(user.createdAt))
            for secret in ["o-secret-openid", "un-secret-unionid", "13800000000", "Secret Nick", "a.example"] {
                #expect(!event.payload.contains(secret))
            }
            _ = try await storage.users.findOrCreate(openid: "o-second", unionid: nil)
            #expect(try await storage.events.count() == 2)
        }
    }

    // MARK: Reading

    @Test("positions are gapless; pages, lookups by id and the count follow them", arguments: EngineKind.available)
    func paging(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            #expect(try await storage.events.events(after: 0, limit: 10).isEmpty)
            #expect(try await storage.events.count() == 0)
            let shop = try await Shop.open(storage)
            for index in 0..<3 {
                let order = try await shop.place("k-\(index)")
                try await shop.move(order, .paymentConfirmed)
            }
            var pages: [[Int64]] = []
            var cursor: Int64 = 0
            while true {
                let page = try await storage.events.events(after: cursor, limit: 3)
                guard let last = page.last else { break }
                pages.append(page.map(\.position))
                cursor = last.position
            }
            #expect(pages == [[1, 2, 3], [4, 5, 6], [7]])
            let all = try await Self.all(storage.events)
            #expect(all.map(\.event.type) == ["user.created"] + Array(repeating: ["order.created", "order.paid"], count: 3).flatMap { $0 })
            #expect(Set(all.map(\.event.id)).count == 7)
            #expect(try await storage.events.event(id: all[4].event.id) == all[4])
            #expect(try await storage.events.event(id: DomainEventID(rawValue: "evt_missing")) == nil)
            #expect(try await storage.events.count() == 7)
            #expect(try await storage.events.events(after: 2, limit: 0).isEmpty)
            #expect(try await storage.events.events(after: 7, limit: 10).isEmpty)
        }
    }

    @Test("20 concurrent order changes: a reader paging meanwhile sees every position once, in order, without gaps", arguments: EngineKind.available)
    func concurrentChanges(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let shop = try await Shop.open(storage)
            var orders: [Order] = []
            for index in 0..<20 { orders.append(try await shop.place("k-\(index)")) }
            let start = try await storage.events.count()
            #expect(start == 21)
            let outbox = storage.events
            let reader = Task { () throws -> [StoredDomainEvent] in
                var seen: [StoredDomainEvent] = []
                var cursor = Int64(start)
                let deadline = ContinuousClock.now.advanced(by: .seconds(30))
                while seen.count < 20, ContinuousClock.now < deadline {
                    let page = try await outbox.events(after: cursor, limit: 4)
                    guard let last = page.last else {
                        try await Task.sleep(for: .milliseconds(1))
                        continue
                    }
                    // A later position visible before an earlier one would show here as a hole.
                    #expect(page.map(\.position) == Array((cursor + 1)...last.position))
                    seen += page
                    cursor = last.position
                }
                return seen
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for order in orders {
                    group.addTask { try await shop.move(order, .paymentConfirmed) }
                }
                try await group.waitForAll()
            }
            let seen = try await reader.value
            #expect(seen.map(\.position) == Array(Int64(start + 1)...Int64(start + 20)))
            #expect(seen.allSatisfy { $0.event.type == "order.paid" })
            #expect(Set(seen.map(\.event.aggregateID)) == Set(orders.map(\.id.rawValue)))
            #expect(try await storage.events.count() == 41)
        }
    }

    // MARK: Retention

    @Test("prune removes the prefix up to the newest event older than the date, in chunks", arguments: EngineKind.available)
    func prune(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let executor = try Self.executor(storage)
            let day: TimeInterval = 86_400
            #expect(try await storage.events.prune(before: Self.t0) == 0)
            // The third event carries an older time than the second (another node's clock).
            let dates = [Self.t0, Self.t0.addingTimeInterval(2 * day), Self.t0, Self.t0.addingTimeInterval(2 * day)]
            try await executor.transaction { db in
                _ = try await SQLEventOutboxRepository.append(db, dates.map { Self.event("order.paid", at: $0) })
            }
            #expect(try await storage.events.prune(before: Self.t0.addingTimeInterval(day)) == 3)
            #expect(try await Self.all(storage.events).map(\.position) == [4], "what is kept has no holes")
            #expect(try await storage.events.prune(before: Self.t0.addingTimeInterval(day)) == 0)

            let many = (0..<6_200).map { _ in Self.event("order.created", at: Self.t0.addingTimeInterval(3 * day)) }
            let stored = try await executor.transaction { db in try await SQLEventOutboxRepository.append(db, many) }
            #expect(stored.first?.position == 5 && stored.last?.position == 6_204)
            #expect(try await storage.events.count() == 6_201)
            #expect(try await storage.events.prune(before: Self.t0.addingTimeInterval(4 * day)) == 6_201)
            #expect(try await storage.events.count() == 0)
            try await executor.transaction { db in
                _ = try await SQLEventOutboxRepository.append(db, [Self.event("order.paid", at: Self.t0)])
            }
            #expect(try await Self.all(storage.events).map(\.position) == [6_205], "numbering continues after pruning")
        }
    }
}

/// The pure builders: which change is which event, without storage.
@Suite("Domain event builders")
struct DomainEventBuilderTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func order(_ status: OrderStatus, reason: CancelReason? = nil) -> Order {
        Order(id: OrderID(rawValue: "o_1"), userID: UserID(rawValue: "u_1"), outTradeNo: OutTradeNo(rawValue: "SL1"),
              status: status, items: [], totalFen: 100, expiresAt: t0, cancelReason: reason, createdAt: t0, updatedAt: t0)
    }

    static func refund(_ status: RefundStatus) -> Refund {
        Refund(id: RefundID(rawValue: "R1"), orderID: OrderID(rawValue: "o_1"), amountFen: 100, reason: nil, status: status,
               createdAt: t0, updatedAt: t0)
    }

    @Test("every order status change maps to its type; a return from refunding and no change map to none")
    func orderTypes() {
        func types(_ from: OrderStatus, _ to: OrderStatus, reason: CancelReason? = nil) -> [String] {
            OrderDomainEvents.events(before: Self.order(from), after: Self.order(to, reason: reason)).map(\.type)
        }
        #expect(OrderDomainEvents.events(before: nil, after: Self.order(.pendingPayment)).map(\.type) == ["order.created"])
        #expect(types(.pendingPayment, .paid) == ["order.paid"])
        #expect(types(.cancelled, .paid) == ["order.paid"])
        #expect(types(.paid, .shipped) == ["order.shipped"])
        #expect(types(.shipped, .completed) == ["order.completed"])
        #expect(types(.pendingPayment, .cancelled, reason: .timeout) == ["order.closed"])
        #expect(types(.pendingPayment, .cancelled, reason: .user) == ["order.cancelled"])
        #expect(types(.pendingPayment, .cancelled, reason: .admin) == ["order.cancelled"])
        #expect(types(.completed, .refunding) == ["order.refunding"])
        #expect(types(.refunding, .refunded) == ["order.refunded"])
        for restored in [OrderStatus.paid, .shipped, .completed] {
            #expect(types(.refunding, restored).isEmpty)
        }
        for status in OrderStatus.allCases {
            #expect(types(status, status).isEmpty)
        }
    }

    @Test("only a refund's final outcome is an event, once")
    func refundTypes() {
        func types(_ from: RefundStatus?, _ to: RefundStatus) -> [String] {
            RefundDomainEvents.events(before: from.map(Self.refund), after: Self.refund(to), order: Self.order(.paid)).map(\.type)
        }
        #expect(types(nil, .processing).isEmpty)
        #expect(types(.processing, .abnormal).isEmpty)
        #expect(types(.processing, .succeeded) == ["refund.succeeded"])
        #expect(types(.abnormal, .succeeded) == ["refund.succeeded"])
        #expect(types(.processing, .closed) == ["refund.failed"])
        #expect(types(.abnormal, .closed) == ["refund.failed"])
        #expect(types(.succeeded, .succeeded).isEmpty)
        #expect(types(.succeeded, .closed).isEmpty, "a settled refund does not change its story")
    }

    @Test("every type the builders write is in the catalogue list, and ids are evt_ + 26 base32")
    func catalogue() {
        #expect(Set(DomainEventTypes.all).count == DomainEventTypes.all.count)
        let id = DomainEventID.generate().rawValue
        #expect(id.hasPrefix("evt_") && id.count == 30)
        let user = UserDomainEvents.created(User(id: UserID(rawValue: "u_1"), openid: "o", createdAt: Self.t0, updatedAt: Self.t0))
        #expect(DomainEventTypes.all.contains(user.type))
        #expect(user.payload == #"{"version":1,"userId":"u_1","createdAt":"2027-01-15T08:00:00.000Z"}"#)
    }
}
