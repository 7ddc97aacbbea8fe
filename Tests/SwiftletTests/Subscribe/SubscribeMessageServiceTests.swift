import Foundation
import Logging
import Synchronization
import SwiftletCore
import Testing

/// The subscribe-message service on both engines, with a scripted WeChat answer per send:
/// quotas from the client's reports, dispatch from the outbox, one acceptance per send
/// (taken once however often the job runs), dead letters, retries and the online rule.
@Suite("Subscribe message service", .timeLimit(.minutes(2)))
struct SubscribeMessageServiceTests {
    /// Answers sends as scripted (then `.sent`) and keeps what it was asked to send.
    final class ScriptedSender: SubscribeMessageSender {
        struct Call: Sendable { let openid: String; let templateID: String; let page: String?; let data: [String: String] }
        private let state = Mutex<(script: [SubscribeSendResult], calls: [Call])>(([], []))
        func script(_ results: [SubscribeSendResult]) { state.withLock { $0.script = results } }
        var calls: [Call] { state.withLock { $0.calls } }
        func send(openid: String, templateID: String, page: String?, data: [(key: String, value: String)]) async -> SubscribeSendResult {
            state.withLock { state in
                state.calls.append(Call(openid: openid, templateID: templateID, page: page,
                                        data: Dictionary(uniqueKeysWithValues: data.map { ($0.key, $0.value) })))
                return state.script.isEmpty ? .sent : state.script.removeFirst()
            }
        }
    }

    final class OnlineUsers: Sendable {
        private let users = Mutex<Set<UserID>>([])
        func insert(_ user: UserID) { users.withLock { _ = $0.insert(user) } }
        func contains(_ user: UserID) -> Bool { users.withLock { $0.contains(user) } }
    }

    struct Bed {
        let storage: any StorageEngine
        let service: SubscribeMessageService
        let sender: ScriptedSender
        let online: OnlineUsers
        let shop: EventOutboxTests.Shop

        /// Dispatches, then runs every pending send job once (as the job worker would).
        func runJobs() async throws -> [JobOutcome] {
            _ = try await service.dispatchOnce()
            let jobs = try await storage.jobs.claim(worker: "test", now: Date().addingTimeInterval(3600),
                                                    leaseUntil: Date().addingTimeInterval(7200), limit: 100)
            var outcomes: [JobOutcome] = []
            for job in jobs where job.kind == SubscribeMessageService.jobKind {
                let outcome = try await service.handle(job)
                outcomes.append(outcome)
                switch outcome {
                case .done: try await storage.jobs.complete(job.id, worker: "test")
                case .retry(let after): try await storage.jobs.retry(job.id, worker: "test", at: Date().addingTimeInterval(after), error: nil, failed: false)
                }
            }
            return outcomes
        }

        func sends() async throws -> [SubscribeSend] {
            try await storage.subscriptions.sends(user: shop.buyer, limit: 50)
        }
    }

    static let paid = SubscribeTemplate(
        event: "order.created", templateId: "TPL_CREATED", page: "pages/order?id={orderId}",
        data: ["character_string1": "{outTradeNo}", "amount2": "{totalFen|yuan}", "thing3": "Thank you"])

    static func with(_ kind: EngineKind, templates: [SubscribeTemplate] = [paid], maxAttempts: Int = 3,
                     _ body: (Bed) async throws -> Void) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let sender = ScriptedSender()
            let online = OnlineUsers()
            let service = SubscribeMessageService(
                subscriptions: storage.subscriptions, events: storage.events, users: storage.users, sender: sender,
                isOnline: { user in online.contains(user) }, clock: .system,
                settings: .init(templates: templates, maxAttempts: maxAttempts, quotaCap: 5), logger: TestStorage.logger)
            let shop = try await EventOutboxTests.Shop.open(storage)
            try await body(Bed(storage: storage, service: service, sender: sender, online: online, shop: shop))
        }
    }

    @Test("the client's report counts one send per configured template accepted, capped", arguments: EngineKind.available)
    func reports(_ kind: EngineKind) async throws {
        try await Self.with(kind) { bed in
            let quotas = try await bed.service.report(user: bed.shop.buyer, result: [
                "TPL_CREATED": "accept", "OTHER": "accept", "errMsg": "requestSubscribeMessage:ok",
            ])
            #expect(quotas == [SubscriptionQuota(templateID: "TPL_CREATED", remaining: 1)], "unconfigured templates are ignored")
            for _ in 0..<9 { _ = try await bed.service.report(user: bed.shop.buyer, result: ["TPL_CREATED": "accept"]) }
            #expect(try await bed.service.quotas(user: bed.shop.buyer) == [SubscriptionQuota(templateID: "TPL_CREATED", remaining: 5)])
            #expect(try await bed.service.report(user: bed.shop.buyer, result: ["TPL_CREATED": "reject"])
                    == [SubscriptionQuota(templateID: "TPL_CREATED", remaining: 5)])
            for (result, code) in [([String: String](), "subscriptions.invalid_result"),
                                   (["errMsg": "requestSubscribeMessage:ok"], "subscriptions.invalid_result"),
                                   (["TPL CREATED": "accept"], "subscriptions.invalid_template_id"),
                                   (["TPL_CREATED": "yes"], "subscriptions.invalid_answer")] {
                await #expect(throws: SwiftletError.self) { _ = try await bed.service.report(user: bed.shop.buyer, result: result) }
                do { _ = try await bed.service.report(user: bed.shop.buyer, result: result) } catch let error as SwiftletError {
                    #expect(error.code == code)
                }
            }
        }
    }

    @Test("one acceptance is one message; without one the event is skipped", arguments: EngineKind.available)
    func oneAcceptanceOneMessage(_ kind: EngineKind) async throws {
        try await Self.with(kind) { bed in
            _ = try await bed.service.report(user: bed.shop.buyer, result: ["TPL_CREATED": "accept"])
            let order = try await bed.shop.place("a")
            #expect(try await bed.runJobs() == [.done])
            let call = try #require(bed.sender.calls.first)
            let user = try #require(try await bed.storage.users.find(id: bed.shop.buyer))
            #expect(call.openid == user.openid && call.templateID == "TPL_CREATED")
            #expect(call.page == "pages/order?id=\(order.id.rawValue)")
            #expect(call.data["character_string1"] == order.outTradeNo.rawValue && call.data["amount2"] == "19.99")
            #expect(try await bed.service.quotas(user: bed.shop.buyer).isEmpty)

            _ = try await bed.shop.place("b")
            #expect(try await bed.runJobs() == [.done])
            #expect(bed.sender.calls.count == 1, "no acceptance left: not sent")
            let sends = try await bed.sends()
            #expect(sends.map(\.status).sorted { $0.rawValue < $1.rawValue } == [.sent, .skipped])
            #expect(sends.first { $0.status == .skipped }?.outcome == "no_subscription")
        }
    }

    @Test("43101 and 47003 are dead letters, never retried; 47003 gives the acceptance back", arguments: EngineKind.available)
    func refusalsAreDeadLetters(_ kind: EngineKind) async throws {
        try await Self.with(kind) { bed in
            _ = try await bed.service.report(user: bed.shop.buyer, result: ["TPL_CREATED": "accept"])
            _ = try await bed.service.report(user: bed.shop.buyer, result: ["TPL_CREATED": "accept"])
            bed.sender.script([.invalid(errcode: 47003, message: "argument invalid! data.thing3.value invalid")])
            _ = try await bed.shop.place("a")
            #expect(try await bed.runJobs() == [.done])
            let refused = try await bed.sends().first
            #expect(refused?.status == .dead && refused?.outcome == "47003")
            #expect(try await bed.service.quotas(user: bed.shop.buyer).first?.remaining == 2, "47003 did not use an acceptance")

            bed.sender.script([.noSubscription])
            _ = try await bed.shop.place("b")
            #expect(try await bed.runJobs() == [.done])
            #expect(try await bed.service.quotas(user: bed.shop.buyer).isEmpty, "43101: WeChat has none left, so neither do we")
            #expect(bed.sender.calls.count == 2)
        }
    }

    @Test("-1 is retried with backoff holding one acceptance, and given up after maxAttempts", arguments: EngineKind.available)
    func busyIsRetried(_ kind: EngineKind) async throws {
        try await Self.with(kind, maxAttempts: 3) { bed in
            _ = try await bed.service.report(user: bed.shop.buyer, result: ["TPL_CREATED": "accept"])
            bed.sender.script([.retryable("-1"), .retryable("-1")])
            _ = try await bed.shop.place("a")
            #expect(try await bed.runJobs() == [.retry(after: 2)])
            #expect(try await bed.runJobs() == [.retry(after: 4)])
            #expect(try await bed.runJobs() == [.done])
            let send = try #require(try await bed.sends().first)
            #expect(send.status == .sent && send.attempts == 3)
            #expect(try await bed.service.quotas(user: bed.shop.buyer).isEmpty, "one acceptance for three calls")

            _ = try await bed.service.report(user: bed.shop.buyer, result: ["TPL_CREATED": "accept"])
            bed.sender.script([.retryable("-1"), .retryable("timeout"), .retryable("-1")])
            _ = try await bed.shop.place("b")
            for _ in 0..<3 { _ = try await bed.runJobs() }
            #expect(try await bed.sends().first { $0.status != .sent }?.status == .dead)
            #expect(try await bed.service.quotas(user: bed.shop.buyer).first?.remaining == 1, "given back when given up")
        }
    }

    @Test("a user online in the app is not sent a subscribe message unless the template says so", arguments: EngineKind.available)
    func onlineUsersSkipped(_ kind: EngineKind) async throws {
        let alsoOnline = SubscribeTemplate(event: "order.created", templateId: "TPL_ALWAYS", data: ["thing1": "New order"],
                                           whenOnline: true)
        try await Self.with(kind, templates: [Self.paid, alsoOnline]) { bed in
            _ = try await bed.service.report(user: bed.shop.buyer, result: ["TPL_CREATED": "accept", "TPL_ALWAYS": "accept"])
            bed.online.insert(bed.shop.buyer)
            _ = try await bed.shop.place("a")
            #expect(try await bed.runJobs().count == 2)
            #expect(bed.sender.calls.map(\.templateID) == ["TPL_ALWAYS"])
            #expect(try await bed.sends().first { $0.templateID == "TPL_CREATED" }?.outcome == "online")
            #expect(try await bed.service.quotas(user: bed.shop.buyer) == [SubscriptionQuota(templateID: "TPL_CREATED", remaining: 1)])
        }
    }

    @Test("events are dispatched once; unmapped types and events without a user make nothing", arguments: EngineKind.available)
    func dispatchOnce(_ kind: EngineKind) async throws {
        try await Self.with(kind) { bed in
            let order = try await bed.shop.place("a")
            try await bed.shop.move(order, .cancel(.user), stock: .release)
            #expect(try await bed.service.dispatchOnce() > 0)
            #expect(try await bed.service.dispatchOnce() == 0)
            #expect(try await bed.sends().count == 1, "order.created only (order.cancelled is not mapped)")
            #expect(try await bed.storage.jobs.pendingCount(kind: SubscribeMessageService.jobKind) == 1)
        }
    }
}
