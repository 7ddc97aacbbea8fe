/// The signed-in user's own profile.
public struct ProfileService: Sendable {
    let users: any UserRepository
    let wechat: any WeChatIdentityProvider

    public init(users: any UserRepository, wechat: any WeChatIdentityProvider) {
        self.users = users
        self.wechat = wechat
    }

    /// `me` when the answer is in memory; nil when it needs storage (then call `me`).
    public func cachedMe(_ principal: Principal) -> User? {
        users.cachedUser(id: principal.userID)
    }

    public func me(_ principal: Principal) async throws -> User {
        guard let user = try await users.find(id: principal.userID) else {
            throw SwiftletError.notFound("user.not_found", "The user no longer exists.")
        }
        return user
    }

    /// Validates every field before writing any.
    public func update(_ principal: Principal, nickname: String?, avatarURL: String?) async throws -> User {
        guard nickname != nil || avatarURL != nil else {
            throw SwiftletError.invalid("profile.empty_update", "Send at least one of nickname, avatarUrl.")
        }
        let update = ProfileUpdate(
            nickname: try nickname.map(Validation.nickname),
            avatarURL: try avatarURL.map(Validation.avatarURL))
        guard let user = try await users.updateProfile(id: principal.userID, update) else {
            throw SwiftletError.notFound("user.not_found", "The user no longer exists.")
        }
        return user
    }

    /// Binds the phone number WeChat returns for a `getPhoneNumber` code.
    public func bindPhone(_ principal: Principal, code: String) async throws -> User {
        try Validation.phoneCode(code)
        let current = try await me(principal)
        let phone = try await wechat.phoneNumber(forCode: code, openid: current.openid)
        guard let user = try await users.updatePhone(id: principal.userID, phone: phone) else {
            throw SwiftletError.notFound("user.not_found", "The user no longer exists.")
        }
        return user
    }
}
