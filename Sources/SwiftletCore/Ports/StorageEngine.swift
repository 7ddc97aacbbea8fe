/// Everything the services need from persistence, behind one value so the composition
/// root can pick SQLite or PostgreSQL from config and nothing else changes.
public protocol StorageEngine: Sendable {
    /// Human-readable engine name for logs and health output (`sqlite`, `postgres`).
    var name: String { get }
    var users: any UserRepository { get }
    var sessions: any SessionRepository { get }
    var adminKeys: any AdminKeyRepository { get }
    var catalog: any CatalogRepository { get }
    var orders: any OrderRepository { get }
    var jobs: any JobRepository { get }
    var inbox: any InboxRepository { get }
    var rooms: any RoomRepository { get }
    var events: any EventOutboxRepository { get }
    var webhooks: any WebhookRepository { get }
    var subscriptions: any SubscriptionRepository { get }
    var signingKeys: any SigningKeyRepository { get }
    /// Told about inbox messages after the transactions that stored them commit.
    var inboxAnnouncer: InboxAnnouncer { get }

    /// Cheap round trip proving the engine can serve queries; used by `/health/ready`.
    func ping() async throws

    /// Releases connections and files. Called once, after the HTTP server has drained.
    func shutdown() async throws
}
