import Foundation

/// One field of a subscribe message's `data`: `{"thing1":{"value":"…"}}`.
public struct WeChatSubscribeField: Sendable, Equatable {
    /// The template's field key, e.g. `thing1`; its kind (`thing`) sets WeChat's limits on the value.
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// What `subscribeMessage.send` sends.
public struct WeChatSubscribeMessage: Sendable, Equatable {
    /// The recipient's openid.
    public var toUser: String
    public var templateID: String
    /// The mini-program page opened on tap (`index?foo=bar`); omitted from the JSON when nil.
    public var page: String?
    /// Sent in this order. A key given twice is sent once, at its first place, with its
    /// last value (JSON objects hold a key once).
    public var data: [WeChatSubscribeField]
    /// `developer`, `trial` or `formal` (WeChat's default); omitted when nil.
    public var miniprogramState: String?
    /// `zh_CN` (WeChat's default), `en_US`, `zh_HK` or `zh_TW`; omitted when nil.
    public var lang: String?

    public init(
        toUser: String, templateID: String, page: String? = nil, data: [WeChatSubscribeField],
        miniprogramState: String? = nil, lang: String? = nil
    ) {
        self.toUser = toUser
        self.templateID = templateID
        self.page = page
        self.data = data
        self.miniprogramState = miniprogramState
        self.lang = lang
    }
}

extension WeChatClient {
    /// POST /cgi-bin/message/subscribe/send?access_token=… through `withAccessToken` (one
    /// refresh-and-retry on 40001/42001 within the retry budget, as `phoneNumber` does). Returns WeChat's `msgid` when the answer has one.
    /// Errors are `WeChatError` (43101 and 47003 arrive as `.api(errcode:errmsg:)`, -1 as `.busy`,
    /// a local refusal while WeChat is failing as `.throttled`).
    ///
    /// Nothing about the message is logged: the openid and the values are personal data.
    @discardableResult
    public func sendSubscribeMessage(_ message: WeChatSubscribeMessage) async throws -> Int64? {
        let body = try message.jsonBody()
        // Decoded inside the closure: a 40001/42001 errcode must surface there to be retried.
        let decoded = try await withAccessToken { token, call in
            try await exchange(
                SubscribeSendBody.self, call: call, method: .POST, path: "/cgi-bin/message/subscribe/send",
                query: [("access_token", token)], body: body)
        }
        return decoded.msgid
    }
}

extension WeChatSubscribeMessage {
    /// The request body: members in the order of WeChat's documentation and `data` in the
    /// caller's order (so what goes over the wire reads like the template), every key and
    /// string escaped by JSONSerialization.
    func jsonBody() throws -> Data {
        var fields: [(key: String, value: String)] = []
        var position: [String: Int] = [:]
        for field in data {
            if let index = position[field.key] {
                fields[index].value = field.value
            } else {
                position[field.key] = fields.count
                fields.append((field.key, field.value))
            }
        }
        let dataObject = try "{" + fields.map { field in
            try Self.fragment(field.key) + ":{\"value\":" + Self.fragment(field.value) + "}"
        }.joined(separator: ",") + "}"
        var members = [("touser", try Self.fragment(toUser)), ("template_id", try Self.fragment(templateID))]
        if let page { members.append(("page", try Self.fragment(page))) }
        members.append(("data", dataObject))
        if let miniprogramState { members.append(("miniprogram_state", try Self.fragment(miniprogramState))) }
        if let lang { members.append(("lang", try Self.fragment(lang))) }
        let text = try "{" + members.map { try Self.fragment($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
        return Data(text.utf8)
    }

    /// One JSON string literal, quoted and escaped.
    private static func fragment(_ text: String) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed]), as: UTF8.self)
    }
}

/// `subscribe/send`'s answer. `msgid` is not in WeChat's official table (SDK examples show
/// a number), so any other shape reads as no msgid rather than failing a send WeChat accepted:
/// a caller retrying that send would deliver the message twice.
struct SubscribeSendBody: Decodable, Sendable {
    let msgid: Int64?

    enum CodingKeys: String, CodingKey { case msgid }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let number = try? container.decode(Int64.self, forKey: .msgid) {
            msgid = number
        } else if let text = try? container.decode(String.self, forKey: .msgid) {
            msgid = Int64(text)
        } else {
            msgid = nil
        }
    }
}
