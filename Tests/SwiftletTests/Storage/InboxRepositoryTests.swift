import Foundation
import SwiftletCore
import Synchronization
import Testing

/// The durable inbox on every engine: gapless per-user numbering under concurrency,
/// paging and resets after retention, device cursors, direct messages stored once, and
/// order events written in the order change's own transaction.
@Suite("Inbox storage")
struct InboxRepositoryTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let alice = UserID(rawValue: "u_alice")
    static let bob = UserID(rawValue: "u_bob")

    static func drafts(_ users: [UserID], kind: String = "test") -> [InboxDraft] {
        users.enumerated().map { index, user in InboxDraft(userID: user, kind: kind, payload: #"{"n":\#(index)}"#) }
    }

    /// Everything the engine's announcer is told, call by call.
    final class Announcements: Sendable {
        private let calls = Mutex<[[InboxMessage]]>([])

        init(_ announcer: InboxAnnouncer) {
            announcer.setHandler { [weak self] messages in self?.calls.withLock { $0.append(messages) } }
        }

        var all: [[InboxMessage]] { calls.withLock { $0 } }
    }

    // MARK: Sequences

    @Test("sequences are gapless per user, independent across users, in the drafts' order", arguments: EngineKind.available)
    func sequences(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let first = try await storage.inbox.append(Self.drafts([Self.bob, Self.alice, Self.bob, Self.alice, Self.alice]), now: Self.t0)
            #expect(first.map(\.userID) == [Self.bob, Self.alice, Self.bob, Self.alice, Self.alice])
            #expect(first.map(\.seq) == [1, 1, 2, 2, 3])
            #expect(first.map(\.payload) == (0..<5).map { #"{"n":\#($0)}"# })
            let second = try await storage.inbox.append(Self.drafts([Self.alice]), now: Self.t0)
            #expect(second.map(\.seq) == [4])
            #expect(try await storage.inbox.append([], now: Self.t0).isEmpty)
            let carol = UserID(rawValue: "u_carol")
            #expect(try await storage.inbox.heads(of: [Self.alice, Self.bob, carol, Self.alice]) == [Self.alice: 4, Self.bob: 2, carol: 0])
            #expect(try await storage.inbox.heads(of: []).isEmpty)
            let stored = try await storage.inbox.messages(of: Self.alice, after: 0, limit: 10).messages
            #expect(stored == [first[1], first[3], first[4], second[0]], "returned as stored")
        }
    }

    @Test("heads of more users than one IN list holds", arguments: EngineKind.available)
    func manyHeads(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let users = (0..<1_100).map { UserID(rawValue: "u_\($0)") }
            _ = try await storage.inbox.append(Self.drafts(users.filter { $0.rawValue.hasSuffix("7") }), now: Self.t0)
            let heads = try await storage.inbox.heads(of: users)
            #expect(heads.count == 1_100)
            #expect(heads.filter { $0.value == 1 }.count == 110)
            #expect(heads.allSatisfy { $0.value == ($0.key.rawValue.hasSuffix("7") ? 1 : 0) })
        }
    }

    @Test("20 concurrent appends for one user are numbered exactly 1…20", arguments: EngineKind.available)
    func concurrentAppends(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let inbox = storage.inbox
            let seqs = try await withThrowingTaskGroup(of: Int64.self) { group in
                for _ in 0..<20 {
                    group.addTask { try await inbox.append(Self.drafts([Self.alice]), now: Self.t0)[0].seq }
                }
                return try await group.reduce(into: [Int64]()) { $0.append($1) }
            }
            #expect(seqs.sorted() == Array(1...20))
            let page = try await inbox.messages(of: Self.alice, after: 0, limit: 100)
            #expect(page.messages.map(\.seq) == Array(1...20))
            #expect(page.head == 20)
        }
    }

    @Test("appends that write two users in opposite orders at once finish without deadlock", arguments: EngineKind.available)
    func oppositeOrders(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let inbox = storage.inbox
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<20 {
                    let users = index.isMultiple(of: 2) ? [Self.alice, Self.bob] : [Self.bob, Self.alice]
                    group.addTask { _ = try await inbox.append(Self.drafts(users), now: Self.t0) }
                }
                try await group.waitForAll()
            }
            #expect(try await inbox.heads(of: [Self.alice, Self.bob]) == [Self.alice: 20, Self.bob: 20])
            #expect(try await inbox.messages(of: Self.bob, after: 0, limit: 100).messages.map(\.seq) == Array(1...20))
        }
    }

    // MARK: Reading and retention

    @Test("pages follow the requested number and the limit", arguments: EngineKind.available)
    func paging(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let empty = try await storage.inbox.messages(of: Self.alice, after: 0, limit: 10)
            #expect(empty == InboxPage(messages: [], head: 0, oldest: 1))
            #expect(!empty.isReset(since: 0))
            _ = try await storage.inbox.append(Self.drafts(Array(repeating: Self.alice, count: 7)), now: Self.t0)
            var since: Int64 = 0
            var pages: [[Int64]] = []
            while true {
                let page = try await storage.inbox.messages(of: Self.alice, after: since, limit: 3)
                #expect(page.head == 7 && page.oldest == 1 && !page.isReset(since: since))
                guard let last = page.messages.last else { break }
                pages.append(page.messages.map(\.seq))
                since = last.seq
            }
            #expect(pages == [[1, 2, 3], [4, 5, 6], [7]])
            #expect(try await storage.inbox.messages(of: Self.alice, after: 2, limit: 0).messages.isEmpty)
            #expect(try await storage.inbox.messages(of: Self.alice, after: 99, limit: 10).messages.isEmpty)
        }
    }

    @Test("count retention keeps the newest; an older number gets a reset page from the oldest", arguments: EngineKind.available)
    func countRetention(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            _ = try await storage.inbox.append(Self.drafts(Array(repeating: Self.alice, count: 10)), now: Self.t0)
            _ = try await storage.inbox.append(Self.drafts([Self.bob, Self.bob]), now: Self.t0)
            let retention = InboxRetention(maxAge: 365 * 86_400, maxCount: 4)
            #expect(try await storage.inbox.prune(retention, now: Self.t0) == 6)
            #expect(try await storage.inbox.prune(retention, now: Self.t0) == 0)
            let reset = try await storage.inbox.messages(of: Self.alice, after: 2, limit: 10)
            #expect(reset.messages.map(\.seq) == [7, 8, 9, 10])
            #expect(reset.oldest == 7 && reset.head == 10)
            #expect(reset.isReset(since: 2))
            let caughtUp = try await storage.inbox.messages(of: Self.alice, after: 6, limit: 10)
            #expect(caughtUp.messages.map(\.seq) == [7, 8, 9, 10] && !caughtUp.isReset(since: 6))
            #expect(try await storage.inbox.messages(of: Self.bob, after: 0, limit: 10).messages.count == 2)
            let next = try await storage.inbox.append(Self.drafts([Self.alice]), now: Self.t0)
            #expect(next[0].seq == 11, "numbering continues after pruning")
        }
    }

    @Test("age retention removes the old prefix, including a younger message numbered before an older one", arguments: EngineKind.available)
    func ageRetention(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let day: TimeInterval = 86_400
            _ = try await storage.inbox.append(Self.drafts([Self.alice, Self.alice, Self.alice]), now: Self.t0)
            _ = try await storage.inbox.append(Self.drafts([Self.alice, Self.alice]), now: Self.t0.addingTimeInterval(2 * day))
            // Bob's second message carries an older time than his first (another node's clock).
            _ = try await storage.inbox.append(Self.drafts([Self.bob]), now: Self.t0.addingTimeInterval(2 * day))
            _ = try await storage.inbox.append(Self.drafts([Self.bob]), now: Self.t0)
            _ = try await storage.inbox.append(Self.drafts([Self.bob]), now: Self.t0.addingTimeInterval(2 * day))
            let now = Self.t0.addingTimeInterval(2 * day + 3_600)
            #expect(try await storage.inbox.prune(InboxRetention(maxAge: day, maxCount: 1_000), now: now) == 5)
            let alice = try await storage.inbox.messages(of: Self.alice, after: 0, limit: 10)
            #expect(alice.messages.map(\.seq) == [4, 5] && alice.oldest == 4 && alice.head == 5)
            #expect(alice.isReset(since: 0))
            #expect(alice.messages.allSatisfy { $0.createdAt == Self.t0.addingTimeInterval(2 * day) })
            let bob = try await storage.inbox.messages(of: Self.bob, after: 0, limit: 10)
            #expect(bob.messages.map(\.seq) == [3], "what is kept has no holes")
            #expect(try await storage.inbox.prune(InboxRetention(maxAge: day, maxCount: 1_000), now: now) == 0)
            #expect(try await storage.inbox.prune(InboxRetention(maxAge: 0, maxCount: 1_000), now: now) == 3)
            let gone = try await storage.inbox.messages(of: Self.alice, after: 0, limit: 10)
            #expect(gone == InboxPage(messages: [], head: 5, oldest: 6) && gone.isReset(since: 0))
        }
    }

    // MARK: Cursors

    @Test("a device's cursor never moves back and never past the head", arguments: EngineKind.available)
    func cursors(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let inbox = storage.inbox
            _ = try await inbox.append(Self.drafts(Array(repeating: Self.alice, count: 5)), now: Self.t0)
            let t1 = Self.t0.addingTimeInterval(1), t2 = Self.t0.addingTimeInterval(2), t3 = Self.t0.addingTimeInterval(3)
            #expect(try await inbox.acknowledge(userID: Self.alice, device: "phone", seq: 3, now: t1) == InboxCursor(device: "phone", ackedSeq: 3, updatedAt: t1))
            #expect(try await inbox.acknowledge(userID: Self.alice, device: "phone", seq: 2, now: t2).ackedSeq == 3)
            #expect(try await inbox.acknowledge(userID: Self.alice, device: "phone", seq: 99, now: t3) == InboxCursor(device: "phone", ackedSeq: 5, updatedAt: t3))
            #expect(try await inbox.acknowledge(userID: Self.alice, device: "desktop", seq: -4, now: t1).ackedSeq == 0)
            #expect(try await inbox.acknowledge(userID: Self.bob, device: "phone", seq: 1, now: t1).ackedSeq == 0, "nothing to acknowledge yet")
            #expect(try await inbox.cursors(of: Self.alice) == [
                InboxCursor(device: "desktop", ackedSeq: 0, updatedAt: t1), InboxCursor(device: "phone", ackedSeq: 5, updatedAt: t3),
            ])
            #expect(try await inbox.cursors(of: UserID(rawValue: "u_nobody")).isEmpty)
        }
    }

    // MARK: Direct messages

    static func users(_ storage: any StorageEngine) async throws -> (sender: UserID, recipient: UserID) {
        let sender = try await storage.users.findOrCreate(openid: "o-sender", unionid: nil).user.id
        let recipient = try await storage.users.findOrCreate(openid: "o-recipient", unionid: nil).user.id
        return (sender, recipient)
    }

    static func request(_ sender: UserID, to recipient: UserID, client: String = "c-1", text: String = "hello",
                        messageID: String = "m_" + RandomID.base32(byteCount: 10)) -> DirectMessageRequest {
        var payload = JSONObjectWriter()
        payload.field("id", messageID)
        payload.field("from", sender.rawValue)
        payload.field("to", recipient.rawValue)
        payload.field("text", text)
        return DirectMessageRequest(senderID: sender, recipientID: recipient, clientMessageID: client,
                                    requestHash: SecretToken.hash(text), messageID: messageID, payload: payload.finish())
    }

    @Test("a direct message is stored once in both inboxes; a retry replays it and writes nothing", arguments: EngineKind.available)
    func directMessage(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let announcements = Announcements(storage.inboxAnnouncer)
            let (sender, recipient) = try await Self.users(storage)
            let request = Self.request(sender, to: recipient)
            let first = try await storage.inbox.storeDirectMessage(request, now: Self.t0)
            #expect(!first.replayed && first.messageID == request.messageID)
            #expect(first.delivered == InboxMessage(userID: recipient, seq: 1, kind: InboxKind.directMessage, payload: request.payload, createdAt: Self.t0))
            #expect(first.echoed == InboxMessage(userID: sender, seq: 1, kind: InboxKind.directMessageSent, payload: request.payload, createdAt: Self.t0))
            #expect(announcements.all == [[first.delivered, first.echoed]])

            let retry = try await storage.inbox.storeDirectMessage(
                Self.request(sender, to: recipient), now: Self.t0.addingTimeInterval(5))
            #expect(retry == DirectMessageReceipt(messageID: first.messageID, delivered: first.delivered, echoed: first.echoed, replayed: true))
            #expect(announcements.all.count == 1, "a replay is not announced")
            #expect(try await storage.inbox.heads(of: [sender, recipient]) == [sender: 1, recipient: 1])
            #expect(try await storage.inbox.messages(of: recipient, after: 0, limit: 10).messages == [first.delivered])

            let conflict = await #expect(throws: SwiftletError.self) {
                try await storage.inbox.storeDirectMessage(Self.request(sender, to: recipient, text: "other"), now: Self.t0)
            }
            #expect(conflict?.kind == .conflict && conflict?.code == "messages.client_msg_id_conflict")

            let second = try await storage.inbox.storeDirectMessage(Self.request(sender, to: recipient, client: "c-2"), now: Self.t0)
            #expect(second.delivered.seq == 2 && second.echoed.seq == 2 && !second.replayed)
            #expect(announcements.all == [[first.delivered, first.echoed], [second.delivered, second.echoed]])
        }
    }

    @Test("idempotency records of direct messages go with the age retention", arguments: EngineKind.available)
    func directMessageRecordsPruned(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let (sender, recipient) = try await Self.users(storage)
            let first = try await storage.inbox.storeDirectMessage(Self.request(sender, to: recipient), now: Self.t0)
            let retention = InboxRetention(maxAge: 86_400, maxCount: 1_000)
            _ = try await storage.inbox.prune(retention, now: Self.t0.addingTimeInterval(3_600))
            let replay = try await storage.inbox.storeDirectMessage(Self.request(sender, to: recipient), now: Self.t0.addingTimeInterval(3_600))
            #expect(replay.replayed && replay.messageID == first.messageID, "within the age limit a retry is still recognised")
            _ = try await storage.inbox.prune(retention, now: Self.t0.addingTimeInterval(2 * 86_400))
            let later = try await storage.inbox.storeDirectMessage(Self.request(sender, to: recipient), now: Self.t0.addingTimeInterval(2 * 86_400))
            #expect(!later.replayed, "after it, the record is gone and the id is free again")
        }
    }

    @Test("identical direct messages sent at once are stored once and all answered with it", arguments: EngineKind.available)
    func concurrentDirectMessage(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let announcements = Announcements(storage.inboxAnnouncer)
            let (sender, recipient) = try await Self.users(storage)
            let inbox = storage.inbox
            let receipts = try await withThrowingTaskGroup(of: DirectMessageReceipt.self) { group in
                for _ in 0..<10 {
                    group.addTask { try await inbox.storeDirectMessage(Self.request(sender, to: recipient), now: Self.t0) }
                }
                return try await group.reduce(into: [DirectMessageReceipt]()) { $0.append($1) }
            }
            #expect(receipts.filter { !$0.replayed }.count == 1)
            #expect(Set(receipts.map(\.messageID)).count == 1)
            #expect(Set(receipts.map(\.delivered.seq)) == [1] && Set(receipts.map(\.echoed.seq)) == [1])
            #expect(try await inbox.heads(of: [sender, recipient]) == [sender: 1, recipient: 1], "the losers' numbers were rolled back")
            #expect(announcements.all.count == 1)
        }
    }

    @Test("a replay after retention removed one side still answers with what was stored", arguments: EngineKind.available)
    func replayAfterRetention(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let (sender, recipient) = try await Self.users(storage)
            let first = try await storage.inbox.storeDirectMessage(Self.request(sender, to: recipient), now: Self.t0)
            _ = try await storage.inbox.append(Self.drafts([recipient, recipient]), now: Self.t0)
            #expect(try await storage.inbox.prune(InboxRetention(maxAge: 365 * 86_400, maxCount: 2), now: Self.t0) == 1)
            let replay = try await storage.inbox.storeDirectMessage(Self.request(sender, to: recipient), now: Self.t0)
            #expect(replay == DirectMessageReceipt(messageID: first.messageID, delivered: first.delivered, echoed: first.echoed, replayed: true))
            _ = try await storage.inbox.append(Self.drafts([sender, sender]), now: Self.t0)
            _ = try await storage.inbox.prune(InboxRetention(maxAge: 365 * 86_400, maxCount: 2), now: Self.t0)
            let expired = await #expect(throws: SwiftletError.self) {
                try await storage.inbox.storeDirectMessage(Self.request(sender, to: recipient), now: Self.t0)
            }
            #expect(expired?.code == "messages.client_msg_id_expired")
        }
    }

    @Test("blocked senders and unknown recipients are refused and nothing is written", arguments: EngineKind.available)
    func refusals(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let announcements = Announcements(storage.inboxAnnouncer)
            let (sender, recipient) = try await Self.users(storage)
            let other = try await storage.users.findOrCreate(openid: "o-other", unionid: nil).user.id
            try await storage.inbox.block(sender, by: recipient, now: Self.t0)
            try await storage.inbox.block(sender, by: recipient, now: Self.t0.addingTimeInterval(9))
            try await storage.inbox.block(other, by: recipient, now: Self.t0.addingTimeInterval(1))
            #expect(try await storage.inbox.blocked(by: recipient) == [sender, other])
            #expect(try await storage.inbox.blocked(by: sender).isEmpty)

            let blocked = await #expect(throws: SwiftletError.self) {
                try await storage.inbox.storeDirectMessage(Self.request(sender, to: recipient), now: Self.t0)
            }
            #expect(blocked?.kind == .forbidden && blocked?.code == "messages.blocked")
            let reverse = try await storage.inbox.storeDirectMessage(Self.request(recipient, to: sender), now: Self.t0)
            #expect(!reverse.replayed, "a block is one-way")

            let unknown = await #expect(throws: SwiftletError.self) {
                try await storage.inbox.storeDirectMessage(Self.request(sender, to: UserID(rawValue: "u_nobody"), client: "c-9"), now: Self.t0)
            }
            #expect(unknown?.kind == .notFound && unknown?.code == "messages.recipient_not_found")
            #expect(try await storage.inbox.heads(of: [sender, recipient]) == [sender: 1, recipient: 1])
            #expect(announcements.all.count == 1)

            try await storage.inbox.unblock(sender, by: recipient)
            try await storage.inbox.unblock(sender, by: recipient)
            #expect(try await storage.inbox.blocked(by: recipient) == [other])
            let accepted = try await storage.inbox.storeDirectMessage(Self.request(sender, to: recipient), now: Self.t0)
            #expect(!accepted.replayed && accepted.delivered.seq == 2)
        }
    }

    // MARK: Order events

    @Test("an order status change writes exactly one inbox event with it; a refused change writes none", arguments: EngineKind.available)
    func orderEvents(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let announcements = Announcements(storage.inboxAnnouncer)
            let buyer = try await storage.users.findOrCreate(openid: "o-buyer", unionid: nil).user.id
            let product = try await CatalogService(catalog: storage.catalog, clock: .system)
                .create(ProductDraft(title: "Tea", skus: [SKUDraft(title: "Tin", priceFen: 1999, stock: 5)]))
            let service = OrderService(orders: storage.orders, clock: .system, policy: OrderPolicy())
            func place(_ key: String) async throws -> Order {
                let creation = try await service.create(
                    userID: buyer, lines: [OrderLineRequest(skuID: product.skus[0].id, quantity: 1)], idempotencyKey: key)
                guard case .created(let order) = creation else { throw TestSetupError("order \(key) was not created") }
                return order
            }
            func move(_ order: Order, _ event: OrderEvent, stock: StockEffect = .none) async throws -> Order {
                try await storage.orders.update(order.id) { current, _ in
                    guard let next = try OrderTransitions.apply(event, to: current, now: Self.t0, action: "moved") else {
                        return OrderMutation(order: current)
                    }
                    return OrderMutation(order: next, stock: stock)
                }
            }
            let cancelled = try await place("k-1"), paid = try await place("k-2")
            #expect(try await storage.inbox.heads(of: [buyer]) == [buyer: 0], "placing an order tells the inbox nothing")

            _ = try await move(cancelled, .cancel(.user), stock: .release)
            _ = try await move(paid, .paymentConfirmed)
            _ = try await move(cancelled, .cancel(.user), stock: .release)
            let inbox = try await storage.inbox.messages(of: buyer, after: 0, limit: 10).messages
            #expect(inbox.map(\.kind) == [InboxKind.orderClosed, InboxKind.orderPaid], "a repeated cancel changes nothing")
            #expect(inbox.map(\.seq) == [1, 2])
            let closed = try JSONSerialization.jsonObject(with: Data(inbox[0].payload.utf8)) as? [String: Any]
            #expect(closed?["orderId"] as? String == cancelled.id.rawValue)
            #expect(closed?["status"] as? String == "cancelled" && closed?["cancelReason"] as? String == "user")
            #expect(announcements.all == [[inbox[0]], [inbox[1]]])

            await #expect(throws: SwiftletError.self) { _ = try await move(cancelled, .ship) }
            await #expect(throws: SwiftletError.self) {
                _ = try await storage.orders.update(paid.id) { _, _ in
                    throw SwiftletError.conflict("test.refused", "decide refused")
                }
            }
            #expect(try await storage.inbox.heads(of: [buyer]) == [buyer: 2])
            #expect(try await storage.orders.find(paid.id)?.status == .paid)
            #expect(announcements.all.count == 2)
        }
    }
}
