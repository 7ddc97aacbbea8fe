import Foundation
import Hummingbird
import SwiftletTransport

/// A subscribe message the sandbox accepted, as it was sent.
public struct SandboxSubscribeMessage: Sendable, Equatable {
    public let toUser: String
    public let templateID: String
    public let page: String?
    /// Field key → value (`thing1` → `"…"`).
    public let data: [String: String]
    public let miniprogramState: String?
    public let lang: String?
    public let msgid: Int64
}

/// The sandbox's subscribe-message state, one field of its `Mutex<State>`.
struct SubscribeState {
    struct Subscription: Hashable {
        let openid: String
        let templateID: String
    }

    /// Accepted subscriptions not yet used, per user and template.
    var remaining: [Subscription: Int] = [:]
    /// Templates someone accepted: any other template id is unknown (40037).
    var templates: Set<String> = []
    /// Sent messages per openid, oldest first, at most `messagesPerUser` each.
    var messages: [String: [SandboxSubscribeMessage]] = [:]
    /// Errcodes the next sends answer, the first one next.
    var scriptedFailures: [Int] = []
    /// WeChat's msgids are 19-digit numbers; starting there makes a client that keeps them
    /// in 32 bits fail against the sandbox rather than in production.
    var nextMessageID: Int64 = 2_000_000_000_000_000_000

    static let messagesPerUser = 1_000
    static let scriptedFailureLimit = 1_000
    /// What one acceptance or one failure script may count (the control endpoints refuse more).
    static let countRange = 1...100
}

extension WeChatSandbox {
    func registerSubscribeMessages(on group: RouterGroup<SwiftletRequestContext>) {
        group.post("/cgi-bin/message/subscribe/send") { request, _ in
            let body = try await Self.jsonObject(request)
            return self.sendSubscribeMessage(token: request.uri.queryParameters.get("access_token"), body: body)
        }
        group.post("/control/subscribe/accept") { request, _ in
            let body = try await Self.jsonObject(request)
            guard let openid = self.controlOpenid(openid: body["openid"] as? String, name: body["name"] as? String) else {
                return Self.error(40003)
            }
            guard let templateID = body["templateId"] as? String, !templateID.isEmpty else { return Self.error(40037) }
            guard let count = Self.controlCount(body["count"]) else { return Self.error(40097) }
            let remaining = self.acceptSubscription(openid: openid, templateID: templateID, count: count)
            return Self.json(["errcode": 0, "errmsg": "ok", "remaining": remaining])
        }
        group.get("/control/subscribe/messages") { request, _ in
            let query = request.uri.queryParameters
            guard let openid = self.controlOpenid(openid: query.get("openid"), name: query.get("name")) else {
                return Self.error(40003)
            }
            return Self.json(["messages": self.subscribeMessages(openid: openid).map(Self.wireObject)])
        }
        group.post("/control/subscribe/fail") { request, _ in
            let body = try await Self.jsonObject(request)
            guard let errcode = body["errcode"] as? Int, errcode != 0,
                  let count = Self.controlCount(body["count"]) else { return Self.error(40097) }
            self.failNextSubscribeSends(errcode: errcode, count: count)
            return Self.json(["errcode": 0, "errmsg": "ok"])
        }
    }

    // MARK: - The API

    /// `subscribeMessage.send`: a scripted failure first (before anything is checked or
    /// taken, as a busy WeChat answers), then token, recipient, template, data, and one
    /// accepted subscription. A refused send never takes a subscription.
    func sendSubscribeMessage(token: String?, body: [String: Any]) -> Response {
        let scripted = state.withLock { state in
            state.subscribe.scriptedFailures.isEmpty ? nil : state.subscribe.scriptedFailures.removeFirst()
        }
        if let scripted { return Self.error(scripted) }
        if let errcode = tokenErrcode(token) { return Self.error(errcode) }
        guard let toUser = body["touser"] as? String, !toUser.isEmpty else { return Self.error(40003) }
        guard let templateID = body["template_id"] as? String, !templateID.isEmpty,
              state.withLock({ $0.subscribe.templates.contains(templateID) }) else { return Self.error(40037) }
        let data: [String: String]
        switch Self.subscribeData(body["data"]) {
        case .failure(let refusal): return Self.error(47003, errmsg: refusal.errmsg)
        case .success(let fields): data = fields
        }
        let subscription = SubscribeState.Subscription(openid: toUser, templateID: templateID)
        let msgid: Int64? = state.withLock { state in
            guard let remaining = state.subscribe.remaining[subscription], remaining > 0 else { return nil }
            state.subscribe.remaining[subscription] = remaining - 1
            let msgid = state.subscribe.nextMessageID
            state.subscribe.nextMessageID += 1
            var sent = state.subscribe.messages[toUser, default: []]
            sent.append(SandboxSubscribeMessage(
                toUser: toUser, templateID: templateID, page: body["page"] as? String, data: data,
                miniprogramState: body["miniprogram_state"] as? String, lang: body["lang"] as? String, msgid: msgid))
            if sent.count > SubscribeState.messagesPerUser { sent.removeFirst(sent.count - SubscribeState.messagesPerUser) }
            state.subscribe.messages[toUser] = sent
            return msgid
        }
        guard let msgid else { return Self.error(43101) }
        return Self.json(["errcode": 0, "errmsg": "ok", "msgid": msgid])
    }

    /// The openid a login with code `<name>:<nonce>` gets.
    public func openid(forName name: String) -> String {
        identity("openid", name)
    }

    /// The user accepted `templateID` `count` times in `wx.requestSubscribeMessage` (`count`
    /// is kept within 1…100, as the control endpoint requires). Returns the subscriptions left.
    @discardableResult
    public func acceptSubscription(openid: String, templateID: String, count: Int = 1) -> Int {
        let count = min(max(count, SubscribeState.countRange.lowerBound), SubscribeState.countRange.upperBound)
        return state.withLock { state in
            state.subscribe.templates.insert(templateID)
            let subscription = SubscribeState.Subscription(openid: openid, templateID: templateID)
            let remaining = state.subscribe.remaining[subscription, default: 0] + count
            state.subscribe.remaining[subscription] = remaining
            return remaining
        }
    }

    /// The accepted subscriptions of `openid` to `templateID` not used yet.
    public func remainingSubscriptions(openid: String, templateID: String) -> Int {
        state.withLock { $0.subscribe.remaining[SubscribeState.Subscription(openid: openid, templateID: templateID)] ?? 0 }
    }

    /// The messages sent to `openid`, in send order (the last 1,000).
    public func subscribeMessages(openid: String) -> [SandboxSubscribeMessage] {
        state.withLock { $0.subscribe.messages[openid] ?? [] }
    }

    /// The next `count` sends (1…100) answer `errcode`, after any failures already scripted;
    /// at most 1,000 wait at once.
    public func failNextSubscribeSends(errcode: Int, count: Int) {
        let count = min(max(count, 0), SubscribeState.countRange.upperBound)
        state.withLock { state in
            let room = SubscribeState.scriptedFailureLimit - state.subscribe.scriptedFailures.count
            state.subscribe.scriptedFailures += Array(repeating: errcode, count: max(0, min(count, room)))
        }
    }

    // MARK: - Data checks

    /// A 47003 refusal: `argument invalid! data.thing1.value is empty`.
    struct DataRefusal: Error {
        let errmsg: String
    }

    /// `data` as field → value, or the first field (by key) WeChat would refuse.
    static func subscribeData(_ raw: Any?) -> Result<[String: String], DataRefusal> {
        guard let object = raw as? [String: Any], !object.isEmpty else {
            return .failure(DataRefusal(errmsg: "argument invalid! data is empty"))
        }
        var fields: [String: String] = [:]
        for key in object.keys.sorted() {
            guard let field = object[key] as? [String: Any], let value = field["value"] else {
                return .failure(DataRefusal(errmsg: "argument invalid! data.\(key).value is empty"))
            }
            guard let text = value as? String else {
                return .failure(DataRefusal(errmsg: "argument invalid! data.\(key).value invalid"))
            }
            if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                return .failure(DataRefusal(errmsg: "argument invalid! data.\(key).value is empty"))
            }
            guard fits(text, kind: kind(of: key)) else {
                return .failure(DataRefusal(errmsg: "argument invalid! data.\(key).value invalid"))
            }
            fields[key] = text
        }
        return .success(fields)
    }

    /// A field's kind is its key without the trailing digits: `thing1` → `thing`.
    static func kind(of key: String) -> String {
        String(key.reversed().drop { $0.isASCII && $0.isNumber }.reversed())
    }

    /// WeChat's limits per kind, in characters.
    static func fits(_ value: String, kind: String) -> Bool {
        let length = value.count
        switch kind {
        case "thing": return length <= 20
        case "number": return length <= 32 && isNumber(Substring(value))
        case "letter": return length <= 32 && value.allSatisfy { $0.isASCII && $0.isLetter }
        case "symbol": return length <= 5
        case "character_string":
            return length <= 32 && value.unicodeScalars.allSatisfy { (0x21...0x7E).contains($0.value) }
        case "phone_number": return length <= 17 && value.allSatisfy { $0.isASCII && ($0.isNumber || "+- ".contains($0)) }
        case "car_number": return length <= 8
        case "name": return length <= (value.unicodeScalars.allSatisfy(\.isASCII) ? 20 : 10)
        case "phrase":
            return length <= 5 && !value.unicodeScalars.contains { $0.properties.numericType == .decimal }
        case "amount": return length <= 16 && isAmount(value)
        case "time", "date": return length <= 32
        default: return length <= 64
        }
    }

    /// Digits, at most one decimal point between digits, an optional leading `-`.
    static func isNumber(_ text: Substring) -> Bool {
        let body = text.hasPrefix("-") ? text.dropFirst() : text
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        return (1...2).contains(parts.count) && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }
    }

    /// Digits with at most two decimals, an optional leading `¥` or trailing `元`.
    static func isAmount(_ text: String) -> Bool {
        var body = Substring(text)
        if body.hasPrefix("¥") { body = body.dropFirst() }
        if body.hasSuffix("元") { body = body.dropLast() }
        guard !body.hasPrefix("-"), isNumber(body) else { return false }
        return body.split(separator: ".").dropFirst().first.map { $0.count <= 2 } ?? true
    }

    // MARK: - Control helpers

    /// The user a control request names: `openid` as given, or the openid of a login name.
    func controlOpenid(openid: String?, name: String?) -> String? {
        if let openid, !openid.isEmpty { return openid }
        if let name, !name.isEmpty { return self.openid(forName: name) }
        return nil
    }

    /// `count` when absent is 1; otherwise an integer within 1…100.
    static func controlCount(_ raw: Any?) -> Int? {
        guard let raw else { return 1 }
        guard let count = raw as? Int, SubscribeState.countRange.contains(count) else { return nil }
        return count
    }

    static func wireObject(_ message: SandboxSubscribeMessage) -> [String: Any] {
        var object: [String: Any] = [
            "touser": message.toUser, "template_id": message.templateID,
            "data": message.data.mapValues { ["value": $0] }, "msgid": message.msgid,
        ]
        object["page"] = message.page
        object["miniprogram_state"] = message.miniprogramState
        object["lang"] = message.lang
        return object
    }
}
