import Foundation
import SQLKit
import SwiftletCore

/// `WebhookRepository` for every SQL engine: endpoints, the dispatch cursor, and the
/// messages with their leases (the claim works like `SQLJobRepository`'s: one conditional
/// `UPDATE … RETURNING`, so a message has one holder at a time on either engine).
public struct SQLWebhookRepository: WebhookRepository {
    let executor: any SQLExecutor

    public init(executor: any SQLExecutor) {
        self.executor = executor
    }

    static let endpointColumns = """
        id, url, description, event_types, enabled, ordered, previous_secret_expires_at, failing_since, disabled_at, \
        disabled_reason, created_at, updated_at
        """

    public func createEndpoint(_ endpoint: WebhookEndpoint, secret: String) async throws {
        try await executor.transaction { db in
            try await db.raw("""
                INSERT INTO webhook_endpoints (id, url, description, event_types, enabled, ordered, secret, disabled_at,
                                               disabled_reason, created_at, updated_at)
                VALUES (\(bind: endpoint.id.rawValue), \(bind: endpoint.url), \(bind: endpoint.description),
                        \(bind: Self.encode(endpoint.eventTypes)), \(bind: endpoint.enabled), \(bind: endpoint.ordered),
                        \(bind: secret), \(bind: endpoint.disabledAt?.unixMilliseconds), \(bind: endpoint.disabledReason),
                        \(bind: endpoint.createdAt.unixMilliseconds), \(bind: endpoint.updatedAt.unixMilliseconds))
                """).run()
        }
    }

    public func endpoint(_ id: WebhookEndpointID) async throws -> WebhookEndpoint? {
        try await executor.read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.endpointColumns) FROM webhook_endpoints WHERE id = \(bind: id.rawValue)")
                .first().map(Self.decodeEndpoint)
        }
    }

    public func endpoints() async throws -> [WebhookEndpoint] {
        try await executor.read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.endpointColumns) FROM webhook_endpoints ORDER BY created_at, id")
                .all().map(Self.decodeEndpoint)
        }
    }

    public func updateEndpoint(_ id: WebhookEndpointID, _ update: WebhookEndpointUpdate, disabledReason: String, now: Date)
        async throws -> WebhookEndpoint?
    {
        let now = now.unixMilliseconds
        return try await executor.transaction { db in
            // Enabling clears the disabled stamp and the failing streak; disabling stamps
            // them unless the endpoint already was disabled (the first reason stays).
            try await db.raw("""
                UPDATE webhook_endpoints SET
                    url = COALESCE(\(bind: update.url), url),
                    description = COALESCE(\(bind: update.description), description),
                    event_types = COALESCE(\(bind: update.eventTypes.map(Self.encode)), event_types),
                    ordered = COALESCE(\(bind: update.ordered), ordered),
                    disabled_at = CASE WHEN \(bind: update.enabled) IS NULL THEN disabled_at
                                       WHEN \(bind: update.enabled) = \(bind: true) THEN NULL
                                       WHEN enabled = \(bind: true) THEN \(bind: now) ELSE disabled_at END,
                    disabled_reason = CASE WHEN \(bind: update.enabled) IS NULL THEN disabled_reason
                                           WHEN \(bind: update.enabled) = \(bind: true) THEN NULL
                                           WHEN enabled = \(bind: true) THEN \(bind: disabledReason) ELSE disabled_reason END,
                    failing_since = CASE WHEN \(bind: update.enabled) = \(bind: true) AND enabled = \(bind: false) THEN NULL
                                         ELSE failing_since END,
                    enabled = COALESCE(\(bind: update.enabled), enabled),
                    updated_at = \(bind: now)
                WHERE id = \(bind: id.rawValue)
                RETURNING \(unsafeRaw: Self.endpointColumns)
                """).first().map(Self.decodeEndpoint)
        }
    }

    public func deleteEndpoint(_ id: WebhookEndpointID) async throws -> Bool {
        try await executor.transaction { db in
            try await db.raw("""
                DELETE FROM webhook_attempts WHERE message_id IN (SELECT id FROM webhook_messages WHERE endpoint_id = \(bind: id.rawValue))
                """).run()
            try await db.raw("DELETE FROM webhook_messages WHERE endpoint_id = \(bind: id.rawValue)").run()
            return try await db.raw("DELETE FROM webhook_endpoints WHERE id = \(bind: id.rawValue) RETURNING id").first() != nil
        }
    }

    public func rotateSecret(_ id: WebhookEndpointID, secret: String, previousExpiresAt: Date, now: Date) async throws
        -> WebhookEndpoint?
    {
        try await executor.transaction { db in
            try await db.raw("""
                UPDATE webhook_endpoints SET previous_secret = secret, secret = \(bind: secret),
                       previous_secret_expires_at = \(bind: previousExpiresAt.unixMilliseconds),
                       updated_at = \(bind: now.unixMilliseconds)
                WHERE id = \(bind: id.rawValue)
                RETURNING \(unsafeRaw: Self.endpointColumns)
                """).first().map(Self.decodeEndpoint)
        }
    }

    // MARK: Dispatch

    public func dispatchCursor() async throws -> Int64 {
        try await executor.read { db in
            try await db.raw("SELECT last_position FROM webhook_dispatch WHERE id = 1").first()?
                .decode(column: "last_position", as: Int64.self) ?? 0
        }
    }

    public func dispatch(from: Int64, to: Int64, messages: [WebhookMessage]) async throws -> Bool {
        try await executor.transaction { db in
            // The cursor moves first: on PostgreSQL a second dispatcher waits here on the
            // row's lock, then finds the cursor moved and stores nothing.
            guard try await db.raw("""
                UPDATE webhook_dispatch SET last_position = \(bind: to)
                WHERE id = 1 AND last_position = \(bind: from) RETURNING id
                """).first() != nil
            else { return false }
            try await Self.insert(db, messages, onConflict: "DO NOTHING")
            return true
        }
    }

    /// Rows per INSERT: 16 binds each stays far below both engines' bind limits.
    static let insertChunk = 500

    @discardableResult
    static func insert(_ db: any SQLDatabase, _ messages: [WebhookMessage], onConflict: String) async throws -> Int {
        var stored = 0
        for start in stride(from: 0, to: messages.count, by: insertChunk) {
            let rows = messages[start..<min(start + insertChunk, messages.count)].map { message -> SQLQueryString in
                """
                (\(bind: message.id.rawValue), \(bind: message.endpointID.rawValue), \(bind: message.eventID.rawValue), \
                \(bind: message.eventType), \(bind: message.eventPosition), \(bind: message.eventOccurredAt.unixMilliseconds), \
                \(bind: message.aggregateID), \(bind: message.status.rawValue), \(bind: message.attempts), \
                \(bind: message.nextAttemptAt?.unixMilliseconds), \(bind: message.createdAt.unixMilliseconds), \
                \(bind: message.updatedAt.unixMilliseconds))
                """
            }
            stored += try await db.raw("""
                INSERT INTO webhook_messages (id, endpoint_id, event_id, event_type, event_position, event_occurred_at,
                                              aggregate_id, status, attempts, next_attempt_at, created_at, updated_at)
                VALUES \(rows.joined(separator: ", "))
                ON CONFLICT (endpoint_id, event_id) \(unsafeRaw: onConflict)
                RETURNING id
                """).all().count
        }
        return stored
    }

    // MARK: Delivery

    static let outstanding = "('pending', 'failed')"

    public func claimDue(worker: String, now: Date, leaseUntil: Date, limit: Int) async throws -> [WebhookDelivery] {
        let now = now.unixMilliseconds
        return try await executor.transaction { db in
            let claimed = try await db.raw("""
                UPDATE webhook_messages SET locked_by = \(bind: worker), locked_until = \(bind: leaseUntil.unixMilliseconds),
                                            attempts = attempts + 1, updated_at = \(bind: now)
                WHERE id IN (
                    SELECT m.id FROM webhook_messages m JOIN webhook_endpoints e ON e.id = m.endpoint_id
                    WHERE m.status IN \(unsafeRaw: Self.outstanding) AND m.next_attempt_at <= \(bind: now)
                      AND (m.locked_until IS NULL OR m.locked_until <= \(bind: now))
                      AND e.enabled = \(bind: true)
                      AND (e.ordered = \(bind: false) OR NOT EXISTS (
                          SELECT 1 FROM webhook_messages p
                          WHERE p.endpoint_id = m.endpoint_id AND p.aggregate_id = m.aggregate_id
                            AND p.event_position < m.event_position AND p.status IN \(unsafeRaw: Self.outstanding)))
                    ORDER BY m.next_attempt_at LIMIT \(unsafeRaw: String(max(0, limit)))
                ) AND status IN \(unsafeRaw: Self.outstanding) AND (locked_until IS NULL OR locked_until <= \(bind: now))
                RETURNING id
                """).all().map { try $0.decode(column: "id", as: String.self) }
            guard !claimed.isEmpty else { return [] }
            let ids = SQLList(claimed.map { SQLBind($0) })
            return try await db.raw("""
                SELECT \(unsafeRaw: Self.messageColumns("m")), e.url, e.secret, e.previous_secret,
                       e.previous_secret_expires_at, e.failing_since AS endpoint_failing_since,
                       o.position AS o_position, o.id AS o_id, o.type AS o_type, o.version AS o_version,
                       o.aggregate_type AS o_aggregate_type, o.aggregate_id AS o_aggregate_id, o.payload AS o_payload,
                       o.occurred_at AS o_occurred_at
                FROM webhook_messages m JOIN webhook_endpoints e ON e.id = m.endpoint_id
                LEFT JOIN event_outbox o ON o.id = m.event_id
                WHERE m.id IN (\(ids))
                ORDER BY m.event_position
                """).all().map(Self.decodeDelivery)
        }
    }

    public func record(_ records: [WebhookRecordedAttempt], worker: String) async throws -> Set<WebhookMessageID> {
        guard !records.isEmpty else { return [] }
        return try await executor.transaction { db in
            var stored: Set<WebhookMessageID> = []
            var events: [DomainEvent] = []
            for recorded in records where try await Self.record(db, recorded.record, worker: worker) {
                stored.insert(recorded.record.attempt.messageID)
                if case .disable = recorded.record.endpoint, let event = recorded.endpointEvent,
                   try await Self.disable(db, recorded.record) {
                    events.append(event)
                }
            }
            // The outbox append goes last: from it to the commit, other event writers wait.
            try await SQLEventOutboxRepository.append(db, events)
            return stored
        }
    }

    /// One attempt inside the batch's transaction; false when the lease is no longer `worker`'s.
    static func record(_ db: any SQLDatabase, _ record: WebhookAttemptRecord, worker: String) async throws -> Bool {
        let attempt = record.attempt
        let at = attempt.attemptedAt.unixMilliseconds
        let (status, next): (WebhookMessageStatus, Int64?) = switch record.outcome {
        case .delivered: (.delivered, nil)
        case .retry(let date): (.failed, date.unixMilliseconds)
        case .dead: (.dead, nil)
        }
        guard try await db.raw("""
            UPDATE webhook_messages SET status = \(bind: status.rawValue), attempts = \(bind: attempt.number),
                   next_attempt_at = \(bind: next), last_status_code = \(bind: attempt.statusCode),
                   last_error = \(bind: attempt.error), delivered_at = \(bind: status == .delivered ? at : nil),
                   locked_by = NULL, locked_until = NULL, updated_at = \(bind: at)
            WHERE id = \(bind: attempt.messageID.rawValue) AND locked_by = \(bind: worker)
            RETURNING id
            """).first() != nil
        else { return false }
        try await db.raw("""
            INSERT INTO webhook_attempts (message_id, number, endpoint_id, attempted_at, status_code, latency_ms,
                                          response_body, error)
            VALUES (\(bind: attempt.messageID.rawValue), \(bind: attempt.number), \(bind: attempt.endpointID.rawValue),
                    \(bind: at), \(bind: attempt.statusCode), \(bind: attempt.latencyMilliseconds),
                    \(bind: attempt.responseBody), \(bind: attempt.error))
            """).run()
        let endpoint = attempt.endpointID.rawValue
        switch record.endpoint {
        case .unchanged, .disable:
            break
        case .healthy:
            try await db.raw("""
                UPDATE webhook_endpoints SET failing_since = NULL WHERE id = \(bind: endpoint) AND failing_since IS NOT NULL
                """).run()
        case .failing:
            try await db.raw("""
                UPDATE webhook_endpoints SET failing_since = \(bind: at) WHERE id = \(bind: endpoint) AND failing_since IS NULL
                """).run()
        }
        return true
    }

    /// Disables the attempt's endpoint; true when this attempt is the one that did.
    static func disable(_ db: any SQLDatabase, _ record: WebhookAttemptRecord) async throws -> Bool {
        guard case .disable(let reason) = record.endpoint else { return false }
        let at = record.attempt.attemptedAt.unixMilliseconds
        return try await db.raw("""
            UPDATE webhook_endpoints SET enabled = \(bind: false), disabled_at = \(bind: at),
                   disabled_reason = \(bind: reason), failing_since = COALESCE(failing_since, \(bind: at)),
                   updated_at = \(bind: at)
            WHERE id = \(bind: record.attempt.endpointID.rawValue) AND enabled = \(bind: true) RETURNING id
            """).first() != nil
    }

    // MARK: Inspection and replay

    public func message(_ id: WebhookMessageID) async throws -> WebhookMessage? {
        try await executor.read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.messageColumns("m")) FROM webhook_messages m WHERE m.id = \(bind: id.rawValue)")
                .first().map(Self.decodeMessage)
        }
    }

    public func messages(endpoint: WebhookEndpointID, status: WebhookMessageStatus?, before: Int64?, limit: Int) async throws
        -> [WebhookMessage]
    {
        try await executor.read { db in
            try await db.raw("""
                SELECT \(unsafeRaw: Self.messageColumns("m")) FROM webhook_messages m
                WHERE m.endpoint_id = \(bind: endpoint.rawValue)
                  AND (\(bind: status?.rawValue) IS NULL OR m.status = \(bind: status?.rawValue))
                  AND m.event_position < \(bind: before ?? Int64.max)
                ORDER BY m.event_position DESC LIMIT \(bind: max(0, limit))
                """).all().map(Self.decodeMessage)
        }
    }

    public func attempts(message: WebhookMessageID) async throws -> [WebhookAttempt] {
        try await executor.read { db in
            try await db.raw("""
                SELECT message_id, number, endpoint_id, attempted_at, status_code, latency_ms, response_body, error
                FROM webhook_attempts WHERE message_id = \(bind: message.rawValue) ORDER BY attempted_at, number
                """).all().map { row in
                WebhookAttempt(
                    messageID: WebhookMessageID(rawValue: try row.decode(column: "message_id", as: String.self)),
                    endpointID: WebhookEndpointID(rawValue: try row.decode(column: "endpoint_id", as: String.self)),
                    number: try row.decode(column: "number", as: Int.self),
                    attemptedAt: Date(unixMilliseconds: try row.decode(column: "attempted_at", as: Int64.self)),
                    statusCode: try row.decode(column: "status_code", as: Int?.self),
                    latencyMilliseconds: try row.decode(column: "latency_ms", as: Int.self),
                    responseBody: try row.decode(column: "response_body", as: String?.self),
                    error: try row.decode(column: "error", as: String?.self))
            }
        }
    }

    /// What a replay sets: due now, attempts counted again (the lease is left alone, so an
    /// attempt in flight still records its result).
    static func replaySet(now: Int64) -> SQLQueryString {
        "status = 'pending', attempts = 0, next_attempt_at = \(bind: now), delivered_at = NULL, updated_at = \(bind: now)"
    }

    public func replay(message: WebhookMessageID, now: Date) async throws -> WebhookMessage? {
        try await executor.transaction { db in
            try await db.raw("""
                UPDATE webhook_messages SET \(Self.replaySet(now: now.unixMilliseconds))
                WHERE id = \(bind: message.rawValue)
                RETURNING \(unsafeRaw: Self.messageColumns(nil))
                """).first().map(Self.decodeMessage)
        }
    }

    public func replay(endpoint: WebhookEndpointID, statuses: [WebhookMessageStatus], from: Date?, to: Date?, now: Date)
        async throws -> Int
    {
        guard !statuses.isEmpty else { return 0 }
        let list = SQLList(statuses.map { SQLBind($0.rawValue) })
        return try await executor.transaction { db in
            try await db.raw("""
                UPDATE webhook_messages SET \(Self.replaySet(now: now.unixMilliseconds))
                WHERE endpoint_id = \(bind: endpoint.rawValue) AND status IN (\(list))
                  AND event_occurred_at >= \(bind: from?.unixMilliseconds ?? Int64.min)
                  AND event_occurred_at < \(bind: to?.unixMilliseconds ?? Int64.max)
                RETURNING id
                """).all().count
        }
    }

    public func resend(_ messages: [WebhookMessage], now: Date) async throws -> Int {
        guard !messages.isEmpty else { return 0 }
        let now = now.unixMilliseconds
        return try await executor.transaction { db in
            try await Self.insert(db, messages, onConflict: """
                DO UPDATE SET status = 'pending', attempts = 0, next_attempt_at = \(now), delivered_at = NULL, updated_at = \(now)
                WHERE webhook_messages.status <> 'pending'
                """)
        }
    }

    public func prune(before: Date) async throws -> Int {
        let before = before.unixMilliseconds
        return try await executor.transaction { db in
            let attempts = try await db.raw("""
                DELETE FROM webhook_attempts WHERE message_id IN (
                    SELECT id FROM webhook_messages WHERE status IN ('delivered', 'dead') AND updated_at < \(bind: before))
                RETURNING message_id
                """).all().count
            let messages = try await db.raw("""
                DELETE FROM webhook_messages WHERE status IN ('delivered', 'dead') AND updated_at < \(bind: before) RETURNING id
                """).all().count
            return attempts + messages
        }
    }

    // MARK: Rows

    static func messageColumns(_ alias: String?) -> String {
        let p = alias.map { $0 + "." } ?? ""
        return ["id", "endpoint_id", "event_id", "event_type", "event_position", "event_occurred_at", "aggregate_id", "status",
                "attempts", "next_attempt_at", "last_status_code", "last_error", "created_at", "updated_at", "delivered_at"]
            .map { p + $0 }.joined(separator: ", ")
    }

    static func encode(_ types: [String]) -> String {
        var text = "["
        for (index, type) in types.enumerated() {
            if index > 0 { text += "," }
            JSONText.appendString(type, to: &text)
        }
        return text + "]"
    }

    static func decodeEndpoint(_ row: any SQLRow) throws -> WebhookEndpoint {
        func date(_ column: String) throws -> Date? {
            try row.decode(column: column, as: Int64?.self).map(Date.init(unixMilliseconds:))
        }
        let types = try row.decode(column: "event_types", as: String.self)
        return WebhookEndpoint(
            id: WebhookEndpointID(rawValue: try row.decode(column: "id", as: String.self)),
            url: try row.decode(column: "url", as: String.self),
            description: try row.decode(column: "description", as: String.self),
            eventTypes: (try? JSONDecoder().decode([String].self, from: Data(types.utf8))) ?? [],
            enabled: try row.decode(column: "enabled", as: Bool.self),
            ordered: try row.decode(column: "ordered", as: Bool.self),
            createdAt: try date("created_at") ?? Date(timeIntervalSince1970: 0),
            updatedAt: try date("updated_at") ?? Date(timeIntervalSince1970: 0),
            disabledAt: try date("disabled_at"),
            disabledReason: try row.decode(column: "disabled_reason", as: String?.self),
            failingSince: try date("failing_since"),
            previousSecretExpiresAt: try date("previous_secret_expires_at"))
    }

    static func decodeMessage(_ row: any SQLRow) throws -> WebhookMessage {
        func date(_ column: String) throws -> Date? {
            try row.decode(column: column, as: Int64?.self).map(Date.init(unixMilliseconds:))
        }
        let status = try row.decode(column: "status", as: String.self)
        return WebhookMessage(
            id: WebhookMessageID(rawValue: try row.decode(column: "id", as: String.self)),
            endpointID: WebhookEndpointID(rawValue: try row.decode(column: "endpoint_id", as: String.self)),
            eventID: DomainEventID(rawValue: try row.decode(column: "event_id", as: String.self)),
            eventType: try row.decode(column: "event_type", as: String.self),
            eventPosition: try row.decode(column: "event_position", as: Int64.self),
            eventOccurredAt: try date("event_occurred_at") ?? Date(timeIntervalSince1970: 0),
            aggregateID: try row.decode(column: "aggregate_id", as: String.self),
            status: WebhookMessageStatus(rawValue: status) ?? .dead,
            attempts: try row.decode(column: "attempts", as: Int.self),
            nextAttemptAt: try date("next_attempt_at"),
            lastStatusCode: try row.decode(column: "last_status_code", as: Int?.self),
            lastError: try row.decode(column: "last_error", as: String?.self),
            createdAt: try date("created_at") ?? Date(timeIntervalSince1970: 0),
            updatedAt: try date("updated_at") ?? Date(timeIntervalSince1970: 0),
            deliveredAt: try date("delivered_at"))
    }

    static func decodeDelivery(_ row: any SQLRow) throws -> WebhookDelivery {
        let event: StoredDomainEvent? = try row.decode(column: "o_position", as: Int64?.self).map { position in
            StoredDomainEvent(position: position, event: DomainEvent(
                id: DomainEventID(rawValue: try row.decode(column: "o_id", as: String.self)),
                type: try row.decode(column: "o_type", as: String.self),
                version: try row.decode(column: "o_version", as: Int.self),
                aggregateType: try row.decode(column: "o_aggregate_type", as: String.self),
                aggregateID: try row.decode(column: "o_aggregate_id", as: String.self),
                payload: try row.decode(column: "o_payload", as: String.self),
                occurredAt: Date(unixMilliseconds: try row.decode(column: "o_occurred_at", as: Int64.self))))
        }
        return WebhookDelivery(
            message: try decodeMessage(row), event: event, url: try row.decode(column: "url", as: String.self),
            secrets: WebhookSigningSecrets(
                current: try row.decode(column: "secret", as: String.self),
                previous: try row.decode(column: "previous_secret", as: String?.self),
                previousExpiresAt: try row.decode(column: "previous_secret_expires_at", as: Int64?.self)
                    .map(Date.init(unixMilliseconds:))),
            endpointFailingSince: try row.decode(column: "endpoint_failing_since", as: Int64?.self).map(Date.init(unixMilliseconds:)))
    }
}
