import Foundation

/// What an access token asserts. Wire format (JWT) is the codec's business.
public struct AccessTokenClaims: Sendable, Equatable {
    public let userID: UserID
    public let sessionID: SessionID
    /// `jti`: unique per token, so one token can be revoked alone.
    public let tokenID: String
    public let issuedAt: Date
    public let expiresAt: Date

    public init(userID: UserID, sessionID: SessionID, tokenID: String, issuedAt: Date, expiresAt: Date) {
        self.userID = userID
        self.sessionID = sessionID
        self.tokenID = tokenID
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
    }
}

/// Signs and verifies access tokens. Verification checks signature (algorithm pinned),
/// time claims (with leeway), issuer and audience, and throws `SwiftletError`s with
/// distinct `auth.*` codes. It does not check revocation; `AuthService` does.
public protocol AccessTokenCodec: Sendable {
    func sign(_ claims: AccessTokenClaims) async throws -> String
    func verify(_ token: String, now: Date) async throws -> AccessTokenClaims
    /// The claims when this exact token was verified before and its time claims still
    /// pass at `now`; nil otherwise (including for a token `verify` would reject), so a
    /// caller that must not wait can answer from memory and leave the rest to `verify`.
    func cachedClaims(_ token: String, now: Date) -> AccessTokenClaims?
}

extension AccessTokenCodec {
    public func cachedClaims(_ token: String, now: Date) -> AccessTokenClaims? { nil }
}

/// The caller of an authenticated request.
public struct Principal: Sendable, Equatable {
    public let userID: UserID
    public let sessionID: SessionID
    public let tokenID: String
    public let expiresAt: Date

    public init(claims: AccessTokenClaims) {
        self.userID = claims.userID
        self.sessionID = claims.sessionID
        self.tokenID = claims.tokenID
        self.expiresAt = claims.expiresAt
    }
}

/// What the WeChat login and phone APIs tell us about a user.
public struct WeChatIdentity: Sendable, Equatable {
    public let openid: String
    public let unionid: String?

    public init(openid: String, unionid: String?) {
        self.openid = openid
        self.unionid = unionid
    }
}

/// Port to WeChat for identity. Implementations map WeChat failures to `SwiftletError`s
/// (`auth.invalid_code`, `wechat.unavailable`, …) and never expose the session key.
public protocol WeChatIdentityProvider: Sendable {
    func identity(forLoginCode code: String) async throws -> WeChatIdentity
    func phoneNumber(forCode code: String, openid: String) async throws -> String
}
