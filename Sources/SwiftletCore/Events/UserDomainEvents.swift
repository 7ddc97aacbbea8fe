import Foundation

/// The domain event of a new user. Pure; written in the transaction that inserts the
/// user, and only then (a login that finds its user writes nothing).
///
/// The payload is the user id and the creation time, nothing else: openid, unionid,
/// phone, nickname and avatar are personal data and never leave through events.
public enum UserDomainEvents {
    public static let version = 1

    public static func created(_ user: User) -> DomainEvent {
        var payload = JSONObjectWriter()
        payload.field("version", version)
        payload.field("userId", user.id.rawValue)
        payload.field("createdAt", RFC3339.string(user.createdAt))
        return DomainEvent(type: DomainEventTypes.userCreated, version: version, aggregateType: DomainEventTypes.Aggregate.user,
                           aggregateID: user.id.rawValue, payload: payload.finish(), occurredAt: user.createdAt)
    }
}
