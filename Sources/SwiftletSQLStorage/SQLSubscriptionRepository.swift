import Foundation
import SQLKit
import SwiftletCore

/// `SubscriptionRepository` for every SQL engine. Taking an acceptance is one conditional
/// decrement in the transaction that marks the send as holding it, so a job that runs
/// twice (a crash between the two) never takes two.
public struct SQLSubscriptionRepository: SubscriptionRepository {
    let executor: any SQLExecutor

    public init(executor: any SQLExecutor) {
        self.executor = executor
    }

    public func addAcceptances(user: UserID, accepted: [String: Int], cap: Int, now: Date) async throws -> [SubscriptionQuota] {
        try await executor.transaction { db in
            for (template, count) in accepted.sorted(by: { $0.key < $1.key }) where count > 0 {
                try await db.raw("""
                    INSERT INTO subscription_quotas (user_id, template_id, remaining, updated_at)
                    VALUES (\(bind: user.rawValue), \(bind: template), \(bind: min(count, cap)), \(bind: now.unixMilliseconds))
                    ON CONFLICT (user_id, template_id) DO UPDATE
                    SET remaining = CASE WHEN subscription_quotas.remaining + excluded.remaining > \(bind: cap) THEN \(bind: cap)
                                         ELSE subscription_quotas.remaining + excluded.remaining END,
                        updated_at = excluded.updated_at
                    """).run()
            }
            return try await Self.quotas(db, user: user, all: true)
        }
    }

    public func quotas(user: UserID) async throws -> [SubscriptionQuota] {
        try await executor.read { db in try await Self.quotas(db, user: user, all: false) }
    }

    static func quotas(_ db: any SQLDatabase, user: UserID, all: Bool) async throws -> [SubscriptionQuota] {
        try await db.raw("""
            SELECT template_id, remaining FROM subscription_quotas
            WHERE user_id = \(bind: user.rawValue) AND (\(bind: all) OR remaining > 0) ORDER BY template_id
            """).all().map {
            SubscriptionQuota(templateID: try $0.decode(column: "template_id", as: String.self),
                              remaining: try $0.decode(column: "remaining", as: Int.self))
        }
    }

    public func dispatchCursor() async throws -> Int64 {
        try await executor.read { db in
            try await db.raw("SELECT last_position FROM subscribe_dispatch WHERE id = 1").first()?
                .decode(column: "last_position", as: Int64.self) ?? 0
        }
    }

    public func dispatch(from: Int64, to: Int64, sends: [SubscribeSend], jobKind: String) async throws -> Bool {
        try await executor.transaction { db in
            guard try await db.raw("""
                UPDATE subscribe_dispatch SET last_position = \(bind: to) WHERE id = 1 AND last_position = \(bind: from) RETURNING id
                """).first() != nil
            else { return false }
            for send in sends {
                let stored = try await db.raw("""
                    INSERT INTO subscribe_sends (id, event_id, user_id, template_key, template_id, status, attempts, created_at, updated_at)
                    VALUES (\(bind: send.id.rawValue), \(bind: send.eventID.rawValue), \(bind: send.userID.rawValue),
                            \(bind: send.templateKey), \(bind: send.templateID), 'pending', 0,
                            \(bind: send.createdAt.unixMilliseconds), \(bind: send.updatedAt.unixMilliseconds))
                    ON CONFLICT (event_id, template_key) DO NOTHING
                    RETURNING id
                    """).first() != nil
                if stored {
                    try await SQLJobRepository.enqueue(
                        db, JobRequest(kind: jobKind, key: send.id.rawValue, payload: send.id.rawValue, runAt: send.createdAt),
                        now: send.createdAt)
                }
            }
            return true
        }
    }

    static let columns = "id, event_id, user_id, template_key, template_id, status, attempts, quota_taken, outcome, created_at, updated_at"

    public func send(_ id: SubscribeSendID) async throws -> SubscribeSend? {
        try await executor.read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM subscribe_sends WHERE id = \(bind: id.rawValue)")
                .first().map(Self.decode)
        }
    }

    public func sends(user: UserID, limit: Int) async throws -> [SubscribeSend] {
        try await executor.read { db in
            try await db.raw("""
                SELECT \(unsafeRaw: Self.columns) FROM subscribe_sends WHERE user_id = \(bind: user.rawValue)
                ORDER BY created_at DESC, id DESC LIMIT \(bind: max(0, limit))
                """).all().map(Self.decode)
        }
    }

    public func takeQuota(for send: SubscribeSendID, now: Date) async throws -> Bool {
        try await executor.transaction { db in
            guard let row = try await db.raw("""
                SELECT user_id, template_id, quota_taken FROM subscribe_sends WHERE id = \(bind: send.rawValue)
                """).first() else { return false }
            if try row.decode(column: "quota_taken", as: Bool.self) { return true }
            let user = try row.decode(column: "user_id", as: String.self)
            let template = try row.decode(column: "template_id", as: String.self)
            guard try await db.raw("""
                UPDATE subscription_quotas SET remaining = remaining - 1, updated_at = \(bind: now.unixMilliseconds)
                WHERE user_id = \(bind: user) AND template_id = \(bind: template) AND remaining > 0 RETURNING remaining
                """).first() != nil
            else { return false }
            try await db.raw("""
                UPDATE subscribe_sends SET quota_taken = \(bind: true), updated_at = \(bind: now.unixMilliseconds)
                WHERE id = \(bind: send.rawValue)
                """).run()
            return true
        }
    }

    public func returnQuota(for send: SubscribeSendID, now: Date) async throws {
        try await executor.transaction { db in
            guard let row = try await db.raw("""
                UPDATE subscribe_sends SET quota_taken = \(bind: false), updated_at = \(bind: now.unixMilliseconds)
                WHERE id = \(bind: send.rawValue) AND quota_taken = \(bind: true) RETURNING user_id, template_id
                """).first() else { return }
            try await db.raw("""
                UPDATE subscription_quotas SET remaining = remaining + 1, updated_at = \(bind: now.unixMilliseconds)
                WHERE user_id = \(bind: try row.decode(column: "user_id", as: String.self))
                  AND template_id = \(bind: try row.decode(column: "template_id", as: String.self))
                """).run()
        }
    }

    public func clearQuota(user: UserID, templateID: String, now: Date) async throws {
        try await executor.transaction { db in
            try await db.raw("""
                UPDATE subscription_quotas SET remaining = 0, updated_at = \(bind: now.unixMilliseconds)
                WHERE user_id = \(bind: user.rawValue) AND template_id = \(bind: templateID)
                """).run()
        }
    }

    public func finish(_ id: SubscribeSendID, status: SubscribeSend.Status, outcome: String?, countAttempt: Bool, now: Date) async throws {
        try await executor.transaction { db in
            try await db.raw("""
                UPDATE subscribe_sends SET status = \(bind: status.rawValue), outcome = \(bind: outcome.map { String($0.prefix(200)) }),
                       attempts = attempts + \(bind: countAttempt ? 1 : 0), updated_at = \(bind: now.unixMilliseconds)
                WHERE id = \(bind: id.rawValue)
                """).run()
        }
    }

    static func decode(_ row: any SQLRow) throws -> SubscribeSend {
        SubscribeSend(
            id: SubscribeSendID(rawValue: try row.decode(column: "id", as: String.self)),
            eventID: DomainEventID(rawValue: try row.decode(column: "event_id", as: String.self)),
            userID: UserID(rawValue: try row.decode(column: "user_id", as: String.self)),
            templateKey: try row.decode(column: "template_key", as: String.self),
            templateID: try row.decode(column: "template_id", as: String.self),
            status: SubscribeSend.Status(rawValue: try row.decode(column: "status", as: String.self)) ?? .dead,
            attempts: try row.decode(column: "attempts", as: Int.self),
            quotaTaken: try row.decode(column: "quota_taken", as: Bool.self),
            outcome: try row.decode(column: "outcome", as: String?.self),
            createdAt: Date(unixMilliseconds: try row.decode(column: "created_at", as: Int64.self)),
            updatedAt: Date(unixMilliseconds: try row.decode(column: "updated_at", as: Int64.self)))
    }
}
