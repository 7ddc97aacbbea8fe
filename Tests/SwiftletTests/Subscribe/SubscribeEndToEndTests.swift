import Foundation
import SwiftletConfig
import SwiftletCore
import SwiftletSandbox
import Testing

/// Subscribe messages through the running server and the built-in WeChat sandbox, which
/// keeps WeChat's one-time subscriptions: the user accepts in the sandbox (as in
/// `wx.requestSubscribeMessage`), the client reports it, a paid order sends one message.
@Suite("Subscribe messages end to end", .timeLimit(.minutes(2)))
struct SubscribeEndToEndTests {
    static let templates = """
        [{"event":"order.paid","templateId":"TPL_PAID","page":"pages/order/detail?id={orderId}",
          "data":{"character_string1":"{outTradeNo}","amount2":"{totalFen|yuan}","time3":"{paidAt|time}","thing4":"We are packing it"}},
         {"event":"order.created","templateId":"TPL_NEW","data":{"thing1":"Order placed"}},
         {"event":"order.created","templateId":"TPL_PHRASE","data":{"phrase1":"{totalFen}"}}]
        """

    static func config() -> SwiftletConfiguration {
        CommerceHarness.config { $0.subscribe.templatesJSON = templates }
    }

    struct Quotas: Decodable {
        struct Entry: Decodable { let templateId: String; let remaining: Int }
        let subscriptions: [Entry]
    }

    @Test("one acceptance, one message with the order's fields; the next paid order sends none", arguments: EngineKind.available)
    func paidOrderSendsOne(_ kind: EngineKind) async throws {
        try await CommerceHarness.run(kind, config: Self.config()) { app in
            let wechat = try #require(app.wechat)
            let openid = wechat.openid(forName: "sub-buyer")
            _ = wechat.acceptSubscription(openid: openid, templateID: "TPL_PAID")
            let (_, sku) = try await app.product()
            let (token, order, prepayID) = try await app.orderAndPrepay(buyer: "sub-buyer", sku: sku)
            let reported = try await app.client.call(.post, "/api/v1/me/subscriptions", json: """
                {"TPL_PAID":"accept","TPL_OTHER":"accept","errMsg":"requestSubscribeMessage:ok"}
                """, bearer: token)
            #expect(reported.status == .ok)
            #expect(try reported.decode(Quotas.self).subscriptions.map { "\($0.templateId)=\($0.remaining)" } == ["TPL_PAID=1"])

            _ = try app.sandbox.pay(prepayID: prepayID)
            #expect(try await app.eventually { wechat.subscribeMessages(openid: openid).count == 1 })
            let message = try #require(wechat.subscribeMessages(openid: openid).first)
            #expect(message.templateID == "TPL_PAID")
            #expect(message.page == "pages/order/detail?id=\(order.id)")
            #expect(message.data["character_string1"] == order.outTradeNo)
            #expect(message.data["amount2"] == "19.99")
            #expect(message.data["thing4"] == "We are packing it")
            #expect(message.data["time3"]?.count == 16)
            #expect(message.miniprogramState == "developer" && message.lang == "zh_CN")
            let left = try await app.client.call(.get, "/api/v1/me/subscriptions", bearer: token).decode(Quotas.self)
            #expect(left.subscriptions.isEmpty)

            // A second paid order: no acceptance left, nothing sent.
            let (_, _, secondPrepay) = try await app.orderAndPrepay(buyer: "sub-buyer", sku: sku)
            _ = try app.sandbox.pay(prepayID: secondPrepay)
            #expect(try await app.eventually {
                try await app.storage.subscriptions.sends(user: UserID(rawValue: order.userIdForTests(app)), limit: 10)
                    .filter { $0.templateID == "TPL_PAID" }.count == 2
            })
            try await Task.sleep(for: .milliseconds(300))
            #expect(wechat.subscribeMessages(openid: openid).count == 1)
        }
    }

    @Test("43101 when WeChat has no subscription, 47003 for a field WeChat refuses: dead letters, not retried",
          arguments: EngineKind.available)
    func refusalsAreNotRetried(_ kind: EngineKind) async throws {
        try await CommerceHarness.run(kind, config: Self.config()) { app in
            let wechat = try #require(app.wechat)
            let openid = wechat.openid(forName: "sub-refused")
            let token = try await app.client.login("sub-refused:\(RandomID.base32(byteCount: 6))").accessToken
            // Both templates are live (someone accepted them), but this user's acceptances
            // were never recorded by WeChat (a client that made them up).
            for template in ["TPL_NEW", "TPL_PHRASE"] {
                _ = wechat.acceptSubscription(openid: wechat.openid(forName: "someone-else"), templateID: template)
            }
            _ = try await app.client.call(.post, "/api/v1/me/subscriptions", json: #"{"TPL_NEW":"accept","TPL_PHRASE":"accept"}"#,
                                          bearer: token)
            let (_, sku) = try await app.product()
            #expect(try await app.placeOrder(token, sku: sku).status == .created)
            let user = try #require(try await app.storage.users.find(openid: openid))
            #expect(try await app.eventually {
                try await app.storage.subscriptions.sends(user: user.id, limit: 10).filter { $0.status == .dead }.count == 2
            })
            let sends = try await app.storage.subscriptions.sends(user: user.id, limit: 10)
            #expect(sends.first { $0.templateID == "TPL_NEW" }?.outcome == "43101")
            #expect(sends.first { $0.templateID == "TPL_PHRASE" }?.outcome == "47003", "digits in a phrase field")
            #expect(sends.allSatisfy { $0.attempts == 1 }, "neither is retried")
            #expect(wechat.subscribeMessages(openid: openid).isEmpty)
            let quotas = try await app.client.call(.get, "/api/v1/me/subscriptions", bearer: token).decode(Quotas.self)
            #expect(quotas.subscriptions.map { "\($0.templateId)=\($0.remaining)" } == ["TPL_PHRASE=1"],
                    "43101 cleared TPL_NEW's count; 47003 gave TPL_PHRASE's back")
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await app.storage.subscriptions.sends(user: user.id, limit: 10).allSatisfy { $0.attempts == 1 })
        }
    }

    @Test("-1 from WeChat is retried with backoff and then sent")
    func busyIsRetried() async throws {
        try await CommerceHarness.run(.sqlite, config: Self.config()) { app in
            let wechat = try #require(app.wechat)
            let openid = wechat.openid(forName: "sub-busy")
            _ = wechat.acceptSubscription(openid: openid, templateID: "TPL_PAID")
            let (_, sku) = try await app.product()
            let (token, _, prepayID) = try await app.orderAndPrepay(buyer: "sub-busy", sku: sku)
            _ = try await app.client.call(.post, "/api/v1/me/subscriptions", json: #"{"TPL_PAID":"accept"}"#, bearer: token)
            wechat.failNextSubscribeSends(errcode: -1, count: 1)
            _ = try app.sandbox.pay(prepayID: prepayID)
            #expect(try await app.eventually(timeout: .seconds(15)) { wechat.subscribeMessages(openid: openid).count == 1 })
            let user = try #require(try await app.storage.users.find(openid: openid))
            // WeChat's answer is recorded just after the sandbox kept the message.
            #expect(try await app.eventually {
                let send = try await app.storage.subscriptions.sends(user: user.id, limit: 10).first { $0.templateID == "TPL_PAID" }
                return send?.status == .sent && send?.attempts == 2
            })
        }
    }
}

extension OrderBody {
    /// The buyer's user id, read through the admin API.
    func userIdForTests(_ app: CommerceHarness) async throws -> String {
        let detail = try await app.admin(.get, "/admin/v1/orders/\(id)")
        let object = try JSONSerialization.jsonObject(with: Data(detail.body.utf8)) as? [String: Any]
        return ((object?["order"] as? [String: Any])?["userId"] as? String) ?? ""
    }
}
