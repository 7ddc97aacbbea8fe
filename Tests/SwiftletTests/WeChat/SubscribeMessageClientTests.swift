import Foundation
import Hummingbird
import HummingbirdTesting
import SwiftletSandbox
import SwiftletTransport
@testable import SwiftletWeChat
import Testing

/// `subscribeMessage.send` from the real client to the sandbox over real HTTP: one accepted
/// subscription per send, WeChat's data checks, token refresh, scripted failures, and what
/// the sandbox records for tests of the server's dispatch.
@Suite("WeChat subscribe messages against the sandbox")
struct SubscribeMessageClientTests {
    static let appID = "wx00000000sandbox"
    static let secret = "sandbox-test-secret"
    static let template = "TPL_ORDER_SHIPPED"

    /// Runs a server with only the sandbox mounted; `body` gets a client for it, the sandbox
    /// and an HTTP client for the control endpoints.
    func withSandbox(
        tokenLifetime: TimeInterval = 7200,
        _ body: @escaping @Sendable (WeChatClient, WeChatSandbox, any TestClientProtocol) async throws -> Void
    ) async throws {
        let sandbox = WeChatSandbox(appID: Self.appID, appSecret: Self.secret, tokenLifetime: tokenLifetime)
        let router = Router(context: SwiftletRequestContext.self)
        sandbox.register(on: router)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { (http: any TestClientProtocol) async throws in
            let port = try #require(http.port)
            let wechat = WeChatClient(configuration: WeChatConfiguration(
                appID: Self.appID, appSecret: Self.secret, baseURL: { "http://127.0.0.1:\(port)/sandbox/wechat" }))
            try await body(wechat, sandbox, http)
        }
    }

    /// A JSON answer of the sandbox as an object.
    func object(_ http: any TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, json: String? = nil) async throws -> [String: Any] {
        let reply = try await http.call(method, uri, json: json)
        #expect(reply.status == .ok)
        return try #require(try JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any])
    }

    /// The errcode and errmsg of a send WeChat refused with an errcode the client keeps verbatim.
    func refusal(_ send: () async throws -> Void) async -> (errcode: Int, errmsg: String)? {
        do {
            try await send()
        } catch WeChatError.api(let errcode, let errmsg) {
            return (errcode, errmsg)
        } catch {
            Issue.record("unexpected \(error)")
        }
        return nil
    }

    /// nil for a send that went through, else `"<errcode> <errmsg>"` or the error.
    func outcome(_ send: () async throws -> Void) async -> String? {
        do {
            try await send()
            return nil
        } catch WeChatError.api(let errcode, let errmsg) {
            return "\(errcode) \(errmsg)"
        } catch {
            return "\(error)"
        }
    }

    func message(to openid: String, template: String = Self.template, _ data: [(String, String)]) -> WeChatSubscribeMessage {
        WeChatSubscribeMessage(toUser: openid, templateID: template, data: data.map { WeChatSubscribeField(key: $0.0, value: $0.1) })
    }

    @Test("one accepted subscription allows one send; the next is refused with 43101")
    func oneAcceptanceOneSend() async throws {
        try await withSandbox { client, sandbox, http in
            let accepted = try await object(http, .post, "/sandbox/wechat/control/subscribe/accept",
                                            json: #"{"name":"alice","templateId":"\#(Self.template)"}"#)
            #expect(accepted["errcode"] as? Int == 0)
            #expect(accepted["remaining"] as? Int == 1)
            let openid = sandbox.openid(forName: "alice")
            #expect(try await client.code2Session(code: "alice:1").openid == openid, "the login of alice gets the same openid")

            let msgid = try #require(try await client.sendSubscribeMessage(message(to: openid, [("thing1", "Your parcel left")])))
            #expect(msgid > Int64(Int32.max), "msgids are 64-bit, as WeChat's")
            let refused = await refusal { try await client.sendSubscribeMessage(message(to: openid, [("thing1", "Again")])) }
            #expect(refused?.errcode == 43101)
            #expect(refused?.errmsg.hasPrefix("user refuse to accept the msg") == true)

            #expect(sandbox.acceptSubscription(openid: openid, templateID: Self.template, count: 2) == 2)
            let second = try #require(try await client.sendSubscribeMessage(message(to: openid, [("thing1", "Second")])))
            let third = try #require(try await client.sendSubscribeMessage(message(to: openid, [("thing1", "Third")])))
            #expect(msgid < second && second < third)
            #expect(sandbox.remainingSubscriptions(openid: openid, templateID: Self.template) == 0)
            #expect(await refusal { try await client.sendSubscribeMessage(message(to: openid, [("thing1", "Fourth")])) }?.errcode == 43101)
            #expect(sandbox.subscribeMessages(openid: openid).map(\.data["thing1"]) == ["Your parcel left", "Second", "Third"])
        }
    }

    @Test("47003 names the field for an empty and an over-long thing1, and takes no subscription")
    func invalidDataNamesTheField() async throws {
        try await withSandbox { client, sandbox, _ in
            let openid = sandbox.openid(forName: "bea")
            sandbox.acceptSubscription(openid: openid, templateID: Self.template)

            let empty = await refusal { try await client.sendSubscribeMessage(message(to: openid, [("thing1", ""), ("time2", "2025-01-01")])) }
            #expect(empty?.errcode == 47003)
            #expect(empty?.errmsg.hasPrefix("argument invalid! data.thing1.value is empty") == true, "\(empty?.errmsg ?? "")")
            let long = await refusal {
                try await client.sendSubscribeMessage(message(to: openid, [("thing1", String(repeating: "a", count: 21))]))
            }
            #expect(long?.errcode == 47003)
            #expect(long?.errmsg.hasPrefix("argument invalid! data.thing1.value invalid") == true, "\(long?.errmsg ?? "")")
            let none = await refusal { try await client.sendSubscribeMessage(message(to: openid, [])) }
            #expect(none?.errcode == 47003)
            #expect(none?.errmsg.hasPrefix("argument invalid! data is empty") == true)
            #expect(sandbox.remainingSubscriptions(openid: openid, templateID: Self.template) == 1, "a refused send takes nothing")

            // Characters are counted, not bytes: twenty CJK characters fit a thing.
            try await client.sendSubscribeMessage(message(to: openid, [("thing1", String(repeating: "货", count: 20))]))
            #expect(sandbox.remainingSubscriptions(openid: openid, templateID: Self.template) == 0)
        }
    }

    /// Values against each kind's limits, as the sandbox checks them.
    static let values: [(key: String, value: String, accepted: Bool)] = [
        ("thing2", String(repeating: "x", count: 20), true), ("thing2", " ", false),
        ("number3", "-12.50", true), ("number3", "12a", false), ("number3", "1.2.3", false), ("number3", String(repeating: "9", count: 33), false),
        ("letter4", "ABCdef", true), ("letter4", "ab1", false),
        ("symbol5", "%%%%%", true), ("symbol5", "%%%%%%", false),
        ("character_string6", "SN-2025_01#A", true), ("character_string6", "SN 2025", false), ("character_string6", "单号1", false),
        ("phone_number7", "+86 138-0000-0000", true), ("phone_number7", "138x", false),
        ("car_number8", "粤B12345", true), ("car_number8", "粤B1234567", false),
        ("name9", String(repeating: "n", count: 20), true), ("name9", "诸葛孔明诸葛孔明诸葛", true), ("name9", "诸葛孔明诸葛孔明诸葛亮", false),
        ("phrase10", "已发货", true), ("phrase10", "第1批", false), ("phrase10", "六个字的短语", false),
        ("amount11", "¥12.50", true), ("amount11", "12元", true), ("amount11", "12.345", false), ("amount11", "twelve", false),
        ("time12", "2025年1月1日 12:00", true), ("time12", String(repeating: "1", count: 33), false),
        ("date13", "2025-01-01", true),
        ("custom14", String(repeating: "c", count: 64), true), ("custom14", String(repeating: "c", count: 65), false),
    ]

    @Test("each kind's limits: thing, number, letter, symbol, character_string, phone_number, car_number, name, phrase, amount, time, date, others")
    func kindLimits() async throws {
        try await withSandbox { client, sandbox, _ in
            let openid = sandbox.openid(forName: "cai")
            sandbox.acceptSubscription(openid: openid, templateID: Self.template, count: 100)
            for entry in Self.values {
                let refused = await outcome { try await client.sendSubscribeMessage(message(to: openid, [(entry.key, entry.value)])) }
                if entry.accepted {
                    #expect(refused == nil, "\(entry.key)=\(entry.value)")
                } else {
                    #expect(refused?.hasPrefix("47003 argument invalid! data.\(entry.key).value") == true, "\(entry.key)=\(entry.value): \(refused ?? "sent")")
                }
            }
        }
    }

    @Test("40037 for a template nobody accepted, 40003 for no recipient")
    func unknownTemplateAndRecipient() async throws {
        try await withSandbox { client, sandbox, _ in
            let openid = sandbox.openid(forName: "dan")
            sandbox.acceptSubscription(openid: openid, templateID: Self.template)
            let unknown = await refusal { try await client.sendSubscribeMessage(message(to: openid, template: "TPL_NEVER", [("thing1", "x")])) }
            #expect(unknown?.errcode == 40037)
            #expect(unknown?.errmsg.hasPrefix("invalid template_id") == true)
            #expect(await refusal { try await client.sendSubscribeMessage(message(to: openid, template: "", [("thing1", "x")])) }?.errcode == 40037)
            let nobody = await refusal { try await client.sendSubscribeMessage(message(to: "", [("thing1", "x")])) }
            #expect(nobody?.errcode == 40003)
            #expect(nobody?.errmsg.hasPrefix("invalid openid") == true)
            // Another user was never asked: the template is known, the subscription is not.
            #expect(await refusal {
                try await client.sendSubscribeMessage(message(to: sandbox.openid(forName: "eve"), [("thing1", "x")]))
            }?.errcode == 43101)
            #expect(sandbox.remainingSubscriptions(openid: openid, templateID: Self.template) == 1)
        }
    }

    @Test("after a 40001 the client refreshes the access_token once and the send succeeds")
    func staleTokenRefreshedOnce() async throws {
        try await withSandbox { client, sandbox, http in
            let openid = sandbox.openid(forName: "fay")
            sandbox.acceptSubscription(openid: openid, templateID: Self.template, count: 2)
            try await client.sendSubscribeMessage(message(to: openid, [("thing1", "First")]))
            #expect(sandbox.stableTokenCalls == 1)
            #expect(try await http.call(.post, "/sandbox/wechat/control/rotate-token").status == .ok)
            let msgid = try await client.sendSubscribeMessage(message(to: openid, [("thing1", "After rotation")]))
            #expect(msgid != nil)
            #expect(sandbox.stableTokenCalls == 2, "one refresh after the 40001")
            #expect(sandbox.subscribeMessages(openid: openid).count == 2)
        }
    }

    @Test("the sandbox answers 42001 to an expired token and 40001 to an unknown one")
    func expiredAndUnknownTokens() async throws {
        try await withSandbox(tokenLifetime: 1) { _, sandbox, http in
            sandbox.acceptSubscription(openid: sandbox.openid(forName: "gus"), templateID: Self.template)
            let issued = try await object(http, .post, "/sandbox/wechat/cgi-bin/stable_token", json: """
                {"grant_type":"client_credential","appid":"\(Self.appID)","secret":"\(Self.secret)"}
                """)
            let token = try #require(issued["access_token"] as? String)
            let body = #"{"touser":"\#(sandbox.openid(forName: "gus"))","template_id":"\#(Self.template)","data":{"thing1":{"value":"x"}}}"#
            #expect(try await object(http, .post, "/sandbox/wechat/cgi-bin/message/subscribe/send?access_token=forged", json: body)["errcode"] as? Int == 40001)
            try await Task.sleep(for: .milliseconds(1_200))
            #expect(try await object(http, .post, "/sandbox/wechat/cgi-bin/message/subscribe/send?access_token=\(token)", json: body)["errcode"] as? Int == 42001)
        }
    }

    @Test("scripted failures answer first: -1 surfaces as .busy and takes no subscription")
    func scriptedBusy() async throws {
        try await withSandbox { client, sandbox, http in
            let openid = sandbox.openid(forName: "hal")
            sandbox.acceptSubscription(openid: openid, templateID: Self.template)
            let scripted = try await object(http, .post, "/sandbox/wechat/control/subscribe/fail", json: #"{"errcode":-1,"count":2}"#)
            #expect(scripted["errcode"] as? Int == 0)
            await #expect(throws: WeChatError.busy) { try await client.sendSubscribeMessage(message(to: openid, [("thing1", "Retry me")])) }
            await #expect(throws: WeChatError.busy, "before anything is checked") {
                try await client.sendSubscribeMessage(message(to: openid, template: "TPL_NEVER", [("thing1", "")]))
            }
            #expect(sandbox.remainingSubscriptions(openid: openid, templateID: Self.template) == 1)
            #expect(try await client.sendSubscribeMessage(message(to: openid, [("thing1", "Retry me")])) != nil)
            #expect(sandbox.subscribeMessages(openid: openid).count == 1)
        }
    }

    @Test("the sandbox records page, data, state and lang as sent, and leaves out what was not")
    func recordsWhatWasSent() async throws {
        try await withSandbox { client, sandbox, http in
            let openid = sandbox.openid(forName: "ivy")
            sandbox.acceptSubscription(openid: openid, templateID: Self.template, count: 2)
            let sent = WeChatSubscribeMessage(
                toUser: openid, templateID: Self.template, page: "pages/order/detail?id=42",
                data: [WeChatSubscribeField(key: "thing1", value: "Tea \"Longjing\""), WeChatSubscribeField(key: "amount2", value: "¥128.00"),
                       WeChatSubscribeField(key: "time3", value: "2025-05-01 10:00")],
                miniprogramState: "developer", lang: "en_US")
            let msgid = try #require(try await client.sendSubscribeMessage(sent))
            let plain = try #require(try await client.sendSubscribeMessage(message(to: openid, [("thing1", "Plain")])))

            let recorded = sandbox.subscribeMessages(openid: openid)
            try #require(recorded.count == 2)
            #expect(recorded[0].toUser == openid && recorded[0].templateID == Self.template && recorded[0].msgid == msgid)
            #expect(recorded[0].page == "pages/order/detail?id=42")
            #expect(recorded[0].data == ["thing1": "Tea \"Longjing\"", "amount2": "¥128.00", "time3": "2025-05-01 10:00"])
            #expect(recorded[0].miniprogramState == "developer" && recorded[0].lang == "en_US")
            #expect(recorded[1].msgid == plain && recorded[1].page == nil && recorded[1].miniprogramState == nil && recorded[1].lang == nil)

            let listed = try await object(http, .get, "/sandbox/wechat/control/subscribe/messages?name=ivy")
            let messages = try #require(listed["messages"] as? [[String: Any]])
            try #require(messages.count == 2)
            #expect(messages[0]["touser"] as? String == openid)
            #expect(messages[0]["template_id"] as? String == Self.template)
            #expect(messages[0]["page"] as? String == "pages/order/detail?id=42")
            #expect(messages[0]["miniprogram_state"] as? String == "developer")
            #expect(messages[0]["lang"] as? String == "en_US")
            #expect((messages[0]["msgid"] as? Int).map(Int64.init) == msgid)
            let data = try #require(messages[0]["data"] as? [String: [String: String]])
            #expect(data == ["thing1": ["value": "Tea \"Longjing\""], "amount2": ["value": "¥128.00"], "time3": ["value": "2025-05-01 10:00"]])
            #expect(Set(messages[1].keys) == ["touser", "template_id", "data", "msgid"], "what was not sent is left out")
            let byOpenid = try await object(http, .get, "/sandbox/wechat/control/subscribe/messages?openid=\(openid)")
            #expect((byOpenid["messages"] as? [[String: Any]])?.count == 2)
        }
    }

    @Test("control endpoints refuse a request without a user, a template or a count within 1…100")
    func controlValidation() async throws {
        try await withSandbox { _, sandbox, http in
            let accept = "/sandbox/wechat/control/subscribe/accept"
            #expect(try await object(http, .post, accept, json: #"{"templateId":"T"}"#)["errcode"] as? Int == 40003)
            #expect(try await object(http, .post, accept, json: #"{"name":"jo"}"#)["errcode"] as? Int == 40037)
            #expect(try await object(http, .post, accept, json: #"{"name":"jo","templateId":"T","count":0}"#)["errcode"] as? Int == 40097)
            #expect(try await object(http, .post, accept, json: #"{"name":"jo","templateId":"T","count":101}"#)["errcode"] as? Int == 40097)
            let many = try await object(http, .post, accept, json: #"{"openid":"oJo","templateId":"T","count":100}"#)
            #expect(many["remaining"] as? Int == 100)
            #expect(sandbox.remainingSubscriptions(openid: "oJo", templateID: "T") == 100)
            #expect(try await object(http, .get, "/sandbox/wechat/control/subscribe/messages")["errcode"] as? Int == 40003)
            let fail = "/sandbox/wechat/control/subscribe/fail"
            #expect(try await object(http, .post, fail, json: #"{"count":1}"#)["errcode"] as? Int == 40097)
            #expect(try await object(http, .post, fail, json: #"{"errcode":0}"#)["errcode"] as? Int == 40097)
            #expect(try await object(http, .post, fail, json: #"{"errcode":-1,"count":500}"#)["errcode"] as? Int == 40097)
        }
    }

    @Test("the sandbox keeps the last 1,000 messages of a user")
    func recordedMessagesAreBounded() async throws {
        try await withSandbox { client, sandbox, _ in
            let openid = sandbox.openid(forName: "kit")
            for _ in 0..<11 { sandbox.acceptSubscription(openid: openid, templateID: Self.template, count: 100) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        for index in stride(from: worker, to: 1_001, by: 8) {
                            try await client.sendSubscribeMessage(message(to: openid, [("number1", String(index))]))
                        }
                    }
                }
                try await group.waitForAll()
            }
            let recorded = sandbox.subscribeMessages(openid: openid)
            #expect(recorded.count == 1_000)
            #expect(recorded.map(\.msgid) == recorded.map(\.msgid).sorted(), "oldest first")
            #expect(sandbox.remainingSubscriptions(openid: openid, templateID: Self.template) == 99)
        }
    }

    @Test("the body keeps data in the caller's order, one member per key, everything escaped")
    func bodyShape() throws {
        let message = WeChatSubscribeMessage(
            toUser: "o1", templateID: "T", page: "index?foo=bar",
            data: [WeChatSubscribeField(key: "time2", value: "a\"b"), WeChatSubscribeField(key: "thing1", value: "x"),
                   WeChatSubscribeField(key: "time2", value: "c")],
            miniprogramState: "trial", lang: "zh_CN")
        let text = String(decoding: try message.jsonBody(), as: UTF8.self)
        #expect(text == #"{"touser":"o1","template_id":"T","page":"index?foo=bar","data":{"time2":{"value":"c"},"thing1":{"value":"x"}},"miniprogram_state":"trial","lang":"zh_CN"}"#)
        let bare = String(decoding: try WeChatSubscribeMessage(
            toUser: "o\u{1}", templateID: "T", data: [WeChatSubscribeField(key: "thing1", value: "引号\"\n")]).jsonBody(), as: UTF8.self)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(bare.utf8)) as? [String: Any])
        #expect(Set(parsed.keys) == ["touser", "template_id", "data"])
        #expect(parsed["touser"] as? String == "o\u{1}")
        #expect((parsed["data"] as? [String: [String: String]])?["thing1"]?["value"] == "引号\"\n")
    }
}
