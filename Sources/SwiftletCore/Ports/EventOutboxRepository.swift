import Foundation

/// Storage port for the outbox of domain events: what the change writers stored in their
/// own transactions, read in order by whoever tells other systems (webhook delivery).
///
/// Every event gets the next position of one outbox-wide sequence, given out under a
/// single head row in the writing transaction. On PostgreSQL that row's lock orders the
/// event-writing transactions, so positions are 1, 2, 3, … without holes and a position
/// is visible only once every smaller one is: a reader that remembers the last position
/// it handled never skips an event committed after it read. (A plain BIGSERIAL would
/// not give that: a transaction can take number 7, commit after the one that took 8, and
/// a reader that already moved past 8 would never see 7.)
///
/// The price is that event-writing transactions commit one at a time on PostgreSQL, from
/// the moment they take the head until their commit. Writers take it with their last
/// statement, so the hold is one insert and the commit; on SQLite the single writer
/// serialises every transaction anyway and the head costs nothing more.
public protocol EventOutboxRepository: Sendable {
    /// Up to `limit` events with a position greater than `cursor`, in position order.
    /// Start with 0; pass the last position returned to continue.
    func events(after cursor: Int64, limit: Int) async throws -> [StoredDomainEvent]

    /// Events that occurred in `from..<to`, with a position greater than `cursor`, in
    /// position order (what a webhook replay over a time range resends).
    func events(occurredFrom from: Date, to: Date, after cursor: Int64, limit: Int) async throws -> [StoredDomainEvent]

    func event(id: DomainEventID) async throws -> StoredDomainEvent?

    /// How many events the outbox holds.
    func count() async throws -> Int

    /// Removes every event up to the newest one that occurred before `date` (a prefix of
    /// the positions, so what is kept has no holes; an event stamped younger by another
    /// node's clock but positioned before an older one goes with the prefix). The caller
    /// picks a date every reader has moved past, and `position`, the furthest every reader
    /// has read: nothing after it goes, however old. Returns how many went.
    func prune(before date: Date, through position: Int64) async throws -> Int
}

extension EventOutboxRepository {
    /// `prune(before:through:)` with no position bound.
    public func prune(before date: Date) async throws -> Int {
        try await prune(before: date, through: .max)
    }
}
