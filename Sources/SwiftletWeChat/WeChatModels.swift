/// Result of `code2Session`. `sessionKey` is a secret: it must never reach a client or a log.
public struct WeChatSession: Sendable, Equatable, CustomStringConvertible {
    public let openid: String
    public let unionid: String?
    public let sessionKey: String

    public init(openid: String, unionid: String?, sessionKey: String) {
        self.openid = openid
        self.unionid = unionid
        self.sessionKey = sessionKey
    }

    /// Redacts the session key so accidental logging leaks nothing.
    public var description: String { "WeChatSession(openid: \(openid), unionid: \(unionid ?? "nil"), sessionKey: ****)" }
}

/// The phone number bound to a WeChat account, from `getuserphonenumber`.
public struct WeChatPhoneNumber: Sendable, Equatable {
    /// With country code, e.g. `+8613800001234`.
    public let phoneNumber: String
    /// Without country code.
    public let purePhoneNumber: String
    public let countryCode: String
}

struct ErrorEnvelope: Decodable {
    let errcode: Int?
    let errmsg: String?
}

struct Code2SessionBody: Decodable {
    let openid: String?
    let unionid: String?
    let session_key: String?
}

struct StableTokenBody: Decodable {
    let access_token: String?
    let expires_in: Int?
}

struct PhoneNumberBody: Decodable, Sendable {
    struct Info: Decodable, Sendable {
        let phoneNumber: String
        let purePhoneNumber: String
        let countryCode: FlexibleString
        let watermark: Watermark?
    }
    struct Watermark: Decodable, Sendable {
        let appid: String?
    }
    let phone_info: Info?
}

/// WeChat documents some fields as strings but its own examples send numbers
/// (`countryCode: 86`); accept both.
struct FlexibleString: Decodable, Equatable, Sendable {
    let value: String
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            value = text
        } else {
            value = String(try container.decode(Int.self))
        }
    }
}
