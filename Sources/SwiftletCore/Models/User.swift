import Foundation

/// A mini-program user, identified by WeChat's per-app `openid`.
///
/// `unionid` is only known when the mini-program is bound to a WeChat Open Platform
/// account; it links the same person across a company's apps.
public struct User: Sendable, Equatable, Codable {
    public var id: UserID
    public var openid: String
    public var unionid: String?
    public var nickname: String?
    public var avatarURL: String?
    /// Phone number in E.164-like form as WeChat returns it (`+86…` or bare digits).
    public var phone: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: UserID, openid: String, unionid: String? = nil, nickname: String? = nil,
        avatarURL: String? = nil, phone: String? = nil, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.openid = openid
        self.unionid = unionid
        self.nickname = nickname
        self.avatarURL = avatarURL
        self.phone = phone
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// Opaque user identifier. Random rather than sequential so ids leak nothing about
/// how many users exist or when they joined.
public struct UserID: StringIdentifier {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// A new random id: `u_` followed by 26 base32 characters (128 random bits).
    public static func generate() -> UserID {
        UserID(rawValue: "u_" + RandomID.base32(byteCount: 16))
    }
}

/// The profile fields a user may change about themselves.
public struct ProfileUpdate: Sendable, Equatable {
    public var nickname: String?
    public var avatarURL: String?
    public init(nickname: String? = nil, avatarURL: String? = nil) {
        self.nickname = nickname
        self.avatarURL = avatarURL
    }
}
