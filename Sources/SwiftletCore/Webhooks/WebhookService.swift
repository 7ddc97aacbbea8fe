import Foundation

/// What operators do with webhook endpoints (the admin API and the CLI both call it):
/// register, change, remove, rotate secrets, inspect messages and attempts, replay.
///
/// Two things come from outside the core: the URL check (the SSRF policy, with DNS) and
/// the secret generator, so this file stays free of networking and of the signing library.
public struct WebhookService: Sendable {
    /// Checks a URL an operator registers; throws a `SwiftletError` (422) when it may not
    /// receive webhooks.
    public typealias URLCheck = @Sendable (String) async throws -> Void

    public struct Policy: Sendable, Equatable {
        /// How long the secret replaced by a rotation keeps signing.
        public var secretOverlap: TimeInterval
        public var maxEndpoints: Int
        public init(secretOverlap: TimeInterval = 86_400, maxEndpoints: Int = 100) {
            self.secretOverlap = secretOverlap
            self.maxEndpoints = maxEndpoints
        }
    }

    /// An endpoint with the secret that was just generated for it: the only time it is shown.
    public struct WithSecret: Sendable, Equatable {
        public var endpoint: WebhookEndpoint
        public var secret: String
    }

    let repository: any WebhookRepository
    let events: any EventOutboxRepository
    let checkURL: URLCheck
    let generateSecret: @Sendable () -> String
    let clock: SwiftletClock
    let policy: Policy

    public init(repository: any WebhookRepository, events: any EventOutboxRepository, checkURL: @escaping URLCheck,
                generateSecret: @escaping @Sendable () -> String, clock: SwiftletClock, policy: Policy = Policy()) {
        self.repository = repository
        self.events = events
        self.checkURL = checkURL
        self.generateSecret = generateSecret
        self.clock = clock
        self.policy = policy
    }

    public func create(_ draft: WebhookEndpointDraft) async throws -> WithSecret {
        try Self.validate(description: draft.description)
        let types = try Self.validate(eventTypes: draft.eventTypes)
        try Self.validate(url: draft.url)
        try await checkURL(draft.url)
        guard try await repository.endpoints().count < policy.maxEndpoints else {
            throw SwiftletError.conflict("webhooks.too_many_endpoints", "at most \(policy.maxEndpoints) webhook endpoints")
        }
        let now = clock.now
        let endpoint = WebhookEndpoint(
            id: .generate(), url: draft.url, description: draft.description, eventTypes: types, enabled: draft.enabled,
            ordered: draft.ordered, createdAt: now, updatedAt: now,
            disabledAt: draft.enabled ? nil : now, disabledReason: draft.enabled ? nil : Self.operatorReason)
        let secret = generateSecret()
        try await repository.createEndpoint(endpoint, secret: secret)
        return WithSecret(endpoint: try await self.endpoint(endpoint.id), secret: secret)
    }

    public func endpoint(_ id: WebhookEndpointID) async throws -> WebhookEndpoint {
        guard let endpoint = try await repository.endpoint(id) else { throw Self.notFound }
        return endpoint
    }

    public func endpoints() async throws -> [WebhookEndpoint] {
        try await repository.endpoints()
    }

    public func update(_ id: WebhookEndpointID, _ update: WebhookEndpointUpdate) async throws -> WebhookEndpoint {
        var update = update
        if let description = update.description { try Self.validate(description: description) }
        if let types = update.eventTypes { update.eventTypes = try Self.validate(eventTypes: types) }
        if let url = update.url {
            try Self.validate(url: url)
            try await checkURL(url)
        }
        guard let endpoint = try await repository.updateEndpoint(id, update, disabledReason: Self.operatorReason, now: clock.now)
        else { throw Self.notFound }
        return endpoint
    }

    public func delete(_ id: WebhookEndpointID) async throws {
        guard try await repository.deleteEndpoint(id) else { throw Self.notFound }
    }

    /// A new secret; the old one keeps signing for `policy.secretOverlap`, so receivers can
    /// switch without dropping a delivery.
    public func rotateSecret(_ id: WebhookEndpointID) async throws -> WithSecret {
        let now = clock.now
        let secret = generateSecret()
        guard let endpoint = try await repository.rotateSecret(
            id, secret: secret, previousExpiresAt: now.addingTimeInterval(policy.secretOverlap), now: now)
        else { throw Self.notFound }
        return WithSecret(endpoint: endpoint, secret: secret)
    }

    // MARK: Messages

    public func messages(endpoint: WebhookEndpointID, status: WebhookMessageStatus?, before: Int64?, limit: Int) async throws
        -> [WebhookMessage]
    {
        _ = try await self.endpoint(endpoint)
        return try await repository.messages(endpoint: endpoint, status: status, before: before, limit: limit)
    }

    public func message(_ id: WebhookMessageID) async throws -> (WebhookMessage, [WebhookAttempt]) {
        guard let message = try await repository.message(id) else {
            throw SwiftletError.notFound("webhooks.message_not_found", "no such webhook message")
        }
        return (message, try await repository.attempts(message: id))
    }

    public func replay(message id: WebhookMessageID) async throws -> WebhookMessage {
        guard let message = try await repository.replay(message: id, now: clock.now) else {
            throw SwiftletError.notFound("webhooks.message_not_found", "no such webhook message")
        }
        return message
    }

    /// What a bulk replay resends.
    public struct ReplayScope: Sendable, Equatable {
        /// Only messages in these statuses; nil: every event the endpoint accepts that
        /// occurred in the range, including events that never became a message (while
        /// the endpoint was disabled, or before it existed).
        public var statuses: [WebhookMessageStatus]?
        public var from: Date?
        public var to: Date?
        public init(statuses: [WebhookMessageStatus]? = nil, from: Date? = nil, to: Date? = nil) {
            self.statuses = statuses
            self.from = from
            self.to = to
        }
    }

    /// Resends an endpoint's messages; returns how many became due. Replaying a re-enabled
    /// endpoint from its `disabledAt` (no statuses) delivers what it missed.
    public func replay(endpoint id: WebhookEndpointID, _ scope: ReplayScope) async throws -> Int {
        let endpoint = try await self.endpoint(id)
        let now = clock.now
        if let from = scope.from, let to = scope.to, from >= to {
            throw SwiftletError.invalid("webhooks.invalid_range", "`from` must be before `to`")
        }
        if let statuses = scope.statuses {
            guard !statuses.isEmpty else { throw SwiftletError.invalid("webhooks.invalid_status", "name at least one status") }
            return try await repository.replay(endpoint: id, statuses: statuses, from: scope.from, to: scope.to, now: now)
        }
        guard let from = scope.from else {
            throw SwiftletError.invalid("webhooks.replay_needs_scope", "give `from` (and optionally `to`), or `status`")
        }
        let to = scope.to ?? now.addingTimeInterval(1)
        var cursor: Int64 = 0
        var due = 0
        while true {
            let page = try await events.events(occurredFrom: from, to: to, after: cursor, limit: Self.replayPage)
            guard let last = page.last else { break }
            cursor = last.position
            let messages = page.filter { endpoint.accepts($0.event.type) }.map { WebhookMessage.pending($0, to: id, now: now) }
            due += try await repository.resend(messages, now: now)
            if page.count < Self.replayPage { break }
        }
        return due
    }

    static let replayPage = 500

    // MARK: Validation

    static let operatorReason = "disabled by an operator"
    static let notFound = SwiftletError.notFound("webhooks.not_found", "no such webhook endpoint")

    static func validate(url: String) throws {
        guard (1...2048).contains(url.utf8.count) else {
            throw SwiftletError.invalid("webhooks.invalid_url", "url must be 1–2048 bytes")
        }
    }

    static func validate(description: String) throws {
        guard description.count <= 500, !Validation.containsControlCharacters(description) else {
            throw SwiftletError.invalid("webhooks.invalid_description", "description must be at most 500 characters, without control characters")
        }
    }

    /// Known types, each once, in the catalogue's order.
    static func validate(eventTypes: [String]) throws -> [String] {
        guard eventTypes.count <= DomainEventTypes.all.count * 2 else {
            throw SwiftletError.invalid("webhooks.unknown_event_type", "too many event types")
        }
        if let unknown = eventTypes.first(where: { !DomainEventTypes.all.contains($0) }) {
            throw SwiftletError.invalid("webhooks.unknown_event_type",
                                        "unknown event type '\(unknown.prefix(64))'; see docs/events.md for the catalogue")
        }
        return DomainEventTypes.all.filter(eventTypes.contains)
    }
}
