import SQLKit
import SwiftletCore
import Synchronization

/// An engine whose repositories are the shared SQL ones: the engine only supplies
/// connections (`SQLExecutor`) and a clock; the repositories and the health ping come
/// from here, identical on every SQL engine.
public protocol SQLStorageEngine: StorageEngine, SQLExecutor {
    var clock: SwiftletClock { get }
}

extension SQLStorageEngine {
    public var users: any UserRepository { SQLUserRepository(executor: self, clock: clock) }
    public var sessions: any SessionRepository { SQLSessionRepository(executor: self) }
    public var adminKeys: any AdminKeyRepository { SQLAdminKeyRepository(executor: self) }
    public var catalog: any CatalogRepository { SQLCatalogRepository(executor: self) }
    public var orders: any OrderRepository { SQLOrderRepository(executor: self, announcer: inboxAnnouncer) }
    public var jobs: any JobRepository { SQLJobRepository(executor: self) }
    public var inbox: any InboxRepository { SQLInboxRepository(executor: self, announcer: inboxAnnouncer) }
    public var rooms: any RoomRepository { SQLRoomRepository(executor: self) }
    public var events: any EventOutboxRepository { SQLEventOutboxRepository(executor: self) }
    public var webhooks: any WebhookRepository { SQLWebhookRepository(executor: self) }
    public var subscriptions: any SubscriptionRepository { SQLSubscriptionRepository(executor: self) }
    public var signingKeys: any SigningKeyRepository { SQLSigningKeyRepository(executor: self) }

    public func ping() async throws {
        _ = try await read { db in try await db.raw("SELECT 1 AS ok").first() }
    }
}

/// Open/closed state of an engine: every operation after shutdown fails fast with
/// `storage.closed` instead of waiting for a connection that will never come back.
public final class EngineGate: Sendable {
    private let closed = Atomic<Bool>(false)

    public init() {}

    public func ensureOpen() throws {
        if closed.load(ordering: .relaxed) {
            throw SwiftletError.unavailable("storage.closed", "The database is shut down.")
        }
    }

    public var isOpen: Bool { !closed.load(ordering: .relaxed) }

    /// Marks the engine closed; true only for the first caller (who does the closing).
    public func close() -> Bool {
        !closed.exchange(true, ordering: .relaxed)
    }
}
