import Foundation
import Logging
import SwiftletCore
import SwiftletWebhookDelivery
import SwiftletWebhooks

/// Webhook delivery on a real database, to a real receiver, driven by hand: the injected
/// clock decides when retries are due (never a sleep), `deliver()` runs one pass.
struct WebhookTestbed {
    let storage: any StorageEngine
    let clock: MutableClock
    let service: WebhookService
    let worker: WebhookDeliveryWorker
    let receiver: TestWebhookReceiver

    /// The default schedule's delays, with jitter pinned to none (a draw of 0.5).
    static let exactSchedule = WebhookRetrySchedule(random: { 0.5 })

    static func with(
        _ kind: EngineKind, schedule: WebhookRetrySchedule = exactSchedule, disableAfter: TimeInterval = 5 * 86_400,
        attemptTimeout: Duration = .seconds(2), urlPolicy: WebhookURLPolicy = WebhookURLPolicy(mode: .development),
        resolver: any WebhookHostResolver = SystemWebhookHostResolver(),
        _ body: (WebhookTestbed) async throws -> Void
    ) async throws {
        let clock = MutableClock(Date())
        try await TestStorage.withStorage(kind, clock: clock.clock) { storage in
            try await TestWebhookReceiver.with { receiver in
                let transport = HTTPWebhookTransport()
                let service = WebhookService(
                    repository: storage.webhooks, events: storage.events, checkURL: { _ in },
                    generateSecret: { WebhookSecret.generate().unredacted }, clock: clock.clock)
                let worker = WebhookDeliveryWorker(
                    webhooks: storage.webhooks, events: storage.events, transport: transport,
                    policy: WebhookAttemptPolicy(schedule: schedule, disableAfter: disableAfter), urlPolicy: urlPolicy,
                    resolver: resolver,
                    settings: WebhookDeliverySettings(attemptTimeout: attemptTimeout, pollInterval: .milliseconds(10)),
                    clock: clock.clock, logger: TestStorage.logger)
                do {
                    try await body(WebhookTestbed(storage: storage, clock: clock, service: service, worker: worker, receiver: receiver))
                    await transport.shutdown()
                } catch {
                    await transport.shutdown()
                    throw error
                }
            }
        }
    }

    /// Registers the receiver (all event types unless given).
    func endpoint(types: [String] = [], ordered: Bool = false, path: String = "/hook") async throws -> WebhookService.WithSecret {
        try await service.create(WebhookEndpointDraft(
            url: "http://127.0.0.1:\(receiver.port)\(path)", eventTypes: types, ordered: ordered))
    }

    /// A new user: one `user.created` event in the outbox.
    @discardableResult
    func userCreated(_ openid: String = "o-\(UUID().uuidString)") async throws -> UserID {
        try await storage.users.findOrCreate(openid: openid, unionid: nil).user.id
    }

    /// One delivery pass; returns the attempts made.
    @discardableResult
    func deliver() async -> Int {
        await worker.runOnce()
    }

    func messages(_ endpoint: WebhookEndpointID, status: WebhookMessageStatus? = nil) async throws -> [WebhookMessage] {
        try await storage.webhooks.messages(endpoint: endpoint, status: status, before: nil, limit: 100)
    }

    func only(_ endpoint: WebhookEndpointID) async throws -> WebhookMessage {
        let all = try await messages(endpoint)
        guard all.count == 1 else { throw TestSetupError("expected one message, found \(all.count)") }
        return all[0]
    }

    func attempts(_ message: WebhookMessageID) async throws -> [WebhookAttempt] {
        try await storage.webhooks.attempts(message: message)
    }

    /// Verifies a received delivery's signature with `secrets` (as of its own timestamp:
    /// the test clock has moved on since).
    func verify(_ received: TestWebhookReceiver.Received, secrets: [String]) throws {
        let parsed = try secrets.map { try WebhookSecret(parsing: $0) }
        let sent = Date(timeIntervalSince1970: TimeInterval(Int64(received.timestamp) ?? 0))
        try StandardWebhookVerifier(secrets: parsed).verify(
            id: received.id, timestamp: received.timestamp, signature: received.signature, body: received.body, now: sent)
    }
}
