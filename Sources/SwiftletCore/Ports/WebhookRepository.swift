import Foundation

/// Storage port for outbound webhooks: the endpoints operators registered, the messages
/// (one per event and endpoint) with their leases, and every attempt.
///
/// Messages are created from the event outbox by the dispatch, which moves a single
/// cursor through the outbox positions; `dispatch(from:to:messages:)` only takes effect
/// while the cursor is still where the caller read it, so with several nodes each event
/// is dispatched by exactly one. Messages are then leased for delivery like jobs: one
/// holder at a time, due again when a holder dies.
public protocol WebhookRepository: Sendable {
    // MARK: Endpoints

    func createEndpoint(_ endpoint: WebhookEndpoint, secret: String) async throws
    func endpoint(_ id: WebhookEndpointID) async throws -> WebhookEndpoint?
    /// Every endpoint, oldest first.
    func endpoints() async throws -> [WebhookEndpoint]
    /// Applies `update`; nil when there is no such endpoint. Enabling a disabled endpoint
    /// clears its disabled reason and failing streak; disabling records `disabledReason`.
    func updateEndpoint(_ id: WebhookEndpointID, _ update: WebhookEndpointUpdate, disabledReason: String, now: Date) async throws
        -> WebhookEndpoint?
    /// Deletes the endpoint with its messages and attempts; false when there was none.
    func deleteEndpoint(_ id: WebhookEndpointID) async throws -> Bool
    /// Makes `secret` the signing secret; the replaced one keeps signing until `previousExpiresAt`.
    func rotateSecret(_ id: WebhookEndpointID, secret: String, previousExpiresAt: Date, now: Date) async throws -> WebhookEndpoint?

    // MARK: Dispatch

    /// The outbox position up to which events have been turned into messages.
    func dispatchCursor() async throws -> Int64
    /// Stores `messages` and moves the cursor from `from` to `to`, in one transaction, if
    /// the cursor is still at `from`; false (and nothing stored) when another node moved it.
    func dispatch(from: Int64, to: Int64, messages: [WebhookMessage]) async throws -> Bool

    // MARK: Delivery

    /// Leases up to `limit` due messages of enabled endpoints to `worker` until
    /// `leaseUntil`, counting the attempt (so one cut short by a crash still counts: a
    /// message that keeps killing nodes runs out of retries). For an ordered endpoint a message is due only when no earlier event
    /// about the same aggregate is still outstanding there.
    func claimDue(worker: String, now: Date, leaseUntil: Date, limit: Int) async throws -> [WebhookDelivery]
    /// Stores finished attempts in one transaction: for each, the attempt, the message's
    /// outcome and the endpoint's health, with its operator event when the endpoint is
    /// disabled. An attempt whose lease `worker` no longer holds stores nothing. Returns
    /// the ids of the messages whose attempts were stored.
    ///
    /// One transaction for a batch, not one per attempt: on SQLite every transaction waits
    /// for the single writer, which a busy node's deliveries would otherwise queue on.
    func record(_ records: [WebhookRecordedAttempt], worker: String) async throws -> Set<WebhookMessageID>

    // MARK: Inspection and replay

    func message(_ id: WebhookMessageID) async throws -> WebhookMessage?
    /// An endpoint's messages, newest event first, optionally of one status; `before` is
    /// the `eventPosition` of the last message of the previous page.
    func messages(endpoint: WebhookEndpointID, status: WebhookMessageStatus?, before: Int64?, limit: Int) async throws
        -> [WebhookMessage]
    /// A message's attempts, oldest first.
    func attempts(message: WebhookMessageID) async throws -> [WebhookAttempt]
    /// Sends a message again: pending, due at `now`, attempts counted from 0 (its past
    /// attempts stay recorded). Nil when there is no such message.
    func replay(message: WebhookMessageID, now: Date) async throws -> WebhookMessage?
    /// Sends again every message of the endpoint in `statuses` whose event occurred in
    /// `from..<to` (nil: unbounded). Returns how many.
    func replay(endpoint: WebhookEndpointID, statuses: [WebhookMessageStatus], from: Date?, to: Date?, now: Date) async throws -> Int
    /// Makes sure each message exists and is due at `now` with its attempts counted from
    /// 0: inserts the missing ones, resets the others (pending ones are due already).
    /// Returns how many were inserted or reset.
    func resend(_ messages: [WebhookMessage], now: Date) async throws -> Int
    /// Deletes attempts and finished messages older than `before`; returns how many rows went.
    func prune(before: Date) async throws -> Int
}
