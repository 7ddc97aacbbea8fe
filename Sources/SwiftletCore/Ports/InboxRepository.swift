import Foundation

/// Storage port for the durable per-user inbox, device cursors, direct messages and
/// block lists.
///
/// Sequence numbers are given out under the user's head row (a row lock on PostgreSQL,
/// the single writer on SQLite), so a user's stored messages are always numbered 1…head
/// without holes, and a number is visible only once every smaller one is.
public protocol InboxRepository: Sendable {
    /// Stores the drafts in one transaction, each with the next number of its user's
    /// sequence, and announces them after the commit. Returns them as stored.
    func append(_ drafts: [InboxDraft], now: Date) async throws -> [InboxMessage]

    /// Up to `limit` messages after `since`, in order; starts at the oldest kept message
    /// when `since` is older (the page then says `isReset`).
    func messages(of userID: UserID, after since: Int64, limit: Int) async throws -> InboxPage

    /// The newest sequence number of each user (0 for users never written to).
    func heads(of userIDs: [UserID]) async throws -> [UserID: Int64]

    /// Moves the device's cursor forward to `seq` (never back, never past the head).
    func acknowledge(userID: UserID, device: String, seq: Int64, now: Date) async throws -> InboxCursor

    func cursors(of userID: UserID) async throws -> [InboxCursor]

    /// Applies the retention: removes each user's messages older than `maxAge` and those
    /// beyond the newest `maxCount` (always a prefix of the user's sequence, so what is
    /// kept has no holes). Returns how many went.
    func prune(_ retention: InboxRetention, now: Date) async throws -> Int

    /// Stores a direct message once: refused if the recipient blocked the sender or does
    /// not exist; replayed if the same client message id came before with the same
    /// content; a conflict if it came with other content. Writes the recipient's message,
    /// the sender's copy and the idempotency record in one transaction, and announces
    /// both messages after the commit (not on a replay).
    func storeDirectMessage(_ request: DirectMessageRequest, now: Date) async throws -> DirectMessageReceipt

    /// `userID` no longer receives direct messages from `blockedID`.
    func block(_ blockedID: UserID, by userID: UserID, now: Date) async throws
    func unblock(_ blockedID: UserID, by userID: UserID) async throws
    func blocked(by userID: UserID) async throws -> [UserID]
}
