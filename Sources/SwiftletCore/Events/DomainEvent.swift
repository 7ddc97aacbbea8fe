import Foundation

/// Domain event identifier: `evt_` + 26 base32 characters. Given once, when the event is
/// built, and stored with it, so every delivery of the event (and every retry of a
/// delivery) carries the same id and a receiver can drop duplicates by it.
public struct DomainEventID: StringIdentifier {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static func generate() -> DomainEventID { DomainEventID(rawValue: "evt_" + RandomID.base32(byteCount: 16)) }
}

/// Something that happened to an order, a refund or a user that other systems may want
/// to hear about. Built by the pure builders (`OrderDomainEvents`, `RefundDomainEvents`,
/// `UserDomainEvents`) and written to the outbox in the same transaction as the change,
/// so a crash can neither lose an event for a change that happened nor invent one for a
/// change that did not. docs/events.md is the catalogue of types and payloads.
public struct DomainEvent: Sendable, Equatable {
    public var id: DomainEventID
    /// One of `DomainEventTypes.all` (`order.paid`, `user.created`, …).
    public var type: String
    /// The payload schema's version, also written into the payload as `version`: a
    /// receiver can tell an old shape from a new one without guessing.
    public var version: Int
    /// `order`, `refund` or `user` (`DomainEventTypes.Aggregate`).
    public var aggregateType: String
    /// The id of the order, refund or user the event is about.
    public var aggregateID: String
    /// A JSON object; never personal data (no openid, phone or nickname).
    public var payload: String
    public var occurredAt: Date

    public init(id: DomainEventID = .generate(), type: String, version: Int = 1, aggregateType: String,
                aggregateID: String, payload: String, occurredAt: Date) {
        self.id = id
        self.type = type
        self.version = version
        self.aggregateType = aggregateType
        self.aggregateID = aggregateID
        self.payload = payload
        self.occurredAt = occurredAt
    }
}

/// An event as the outbox holds it: with the position the outbox gave it. Positions grow
/// with every event written, in commit order, so a reader that remembers the last
/// position it handled can ask for exactly what followed.
public struct StoredDomainEvent: Sendable, Equatable {
    public var position: Int64
    public var event: DomainEvent

    public init(position: Int64, event: DomainEvent) {
        self.position = position
        self.event = event
    }
}
