import Synchronization

/// Hears about inbox messages right after the transaction that stored them commits, so
/// they can be pushed to connected devices at once.
///
/// Owned by the storage engine (its repositories call `announce` after each commit that
/// wrote inbox messages: direct messages, and order changes whose event is written in the
/// same transaction) and wired by the composition root to the realtime fan-out. A message
/// announced to nobody (no handler yet, or a crash right after commit) is not lost: it is
/// stored, and devices read it on their next catch-up.
public final class InboxAnnouncer: Sendable {
    private let handler = Mutex<(@Sendable ([InboxMessage]) -> Void)?>(nil)

    public init() {}

    /// Replaces the handler; nil stops announcements.
    public func setHandler(_ handler: (@Sendable ([InboxMessage]) -> Void)?) {
        self.handler.withLock { $0 = handler }
    }

    public func announce(_ messages: [InboxMessage]) {
        guard !messages.isEmpty, let handler = handler.withLock({ $0 }) else { return }
        handler(messages)
    }
}
