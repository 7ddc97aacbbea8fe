/// Storage port for users. Implemented once per engine family and verified by the
/// shared storage contract suite, so services never care which engine is behind it.
public protocol UserRepository: Sendable {
    /// Returns the user with this openid, creating it atomically if absent.
    ///
    /// Atomic because two logins with codes for the same new person can race; exactly
    /// one row must exist afterwards. A known unionid is filled in if it was missing.
    func findOrCreate(openid: String, unionid: String?) async throws -> (user: User, created: Bool)

    func find(id: UserID) async throws -> User?
    func find(openid: String) async throws -> User?

    /// Applies the non-nil fields of `update`; returns the stored result, or nil if the
    /// user does not exist.
    func updateProfile(id: UserID, _ update: ProfileUpdate) async throws -> User?

    /// Binds a phone number; returns the stored result, or nil if the user does not exist.
    func updatePhone(id: UserID, phone: String) async throws -> User?

    func count() async throws -> Int

    /// The user if this node holds a fresh copy in memory, without waiting for storage;
    /// nil when it would have to ask. Lets a caller that must not wait (an event loop)
    /// answer from memory and leave everything else to `find(id:)`.
    func cachedUser(id: UserID) -> User?
}

extension UserRepository {
    public func cachedUser(id: UserID) -> User? { nil }
}
