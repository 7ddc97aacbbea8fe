import Foundation

/// Turns outbox events into webhook messages: one per event and enabled endpoint that
/// accepts its type.
///
/// The dispatch cursor is shared by every node and moved by compare-and-set together
/// with the messages it produced (`WebhookRepository.dispatch`), so an event is
/// dispatched once however many nodes run this; a node that loses the race just reads
/// again from the new cursor. Outbox positions are gapless and become visible in order,
/// so moving past a position never skips an event committed later.
public struct WebhookDispatcher: Sendable {
    let webhooks: any WebhookRepository
    let events: any EventOutboxRepository
    let clock: SwiftletClock
    let batchSize: Int

    public init(webhooks: any WebhookRepository, events: any EventOutboxRepository, clock: SwiftletClock, batchSize: Int = 500) {
        self.webhooks = webhooks
        self.events = events
        self.clock = clock
        self.batchSize = batchSize
    }

    /// One round; returns how many events this node moved the cursor past (0 when there
    /// was nothing new or another node dispatched them first).
    @discardableResult
    public func dispatchOnce() async throws -> Int {
        let cursor = try await webhooks.dispatchCursor()
        let batch = try await events.events(after: cursor, limit: batchSize)
        guard let last = batch.last else { return 0 }
        let endpoints = try await webhooks.endpoints().filter(\.enabled)
        let now = clock.now
        let messages = batch.flatMap { event in
            endpoints.filter { $0.accepts(event.event.type) }.map { WebhookMessage.pending(event, to: $0.id, now: now) }
        }
        return try await webhooks.dispatch(from: cursor, to: last.position, messages: messages) ? batch.count : 0
    }
}
