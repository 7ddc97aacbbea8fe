extension User {
    /// Approximate bytes this row takes in memory, for byte-bounded caches.
    public var approximateByteCount: Int {
        BoundedCache<UserID, User>.entryOverhead + id.rawValue.utf8.count + openid.utf8.count
            + (unionid?.utf8.count ?? 0) + (nickname?.utf8.count ?? 0) + (avatarURL?.utf8.count ?? 0)
            + (phone?.utf8.count ?? 0)
    }
}
