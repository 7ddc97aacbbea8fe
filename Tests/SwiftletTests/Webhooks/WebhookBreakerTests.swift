import Foundation
import SwiftletCore
import SwiftletResilience
import SwiftletWebhookDelivery
import SwiftletWebhooks
import Testing

/// Per-endpoint breakers in webhook delivery, against two real receivers: one made to fail
/// or hang, one healthy. Delivery passes are driven by hand; the schedule's clock and the
/// breakers' clock are both moved by the test, never slept on.
@Suite("Webhook endpoint breakers", .timeLimit(.minutes(3)))
struct WebhookBreakerTests {
    struct Bed {
        let storage: any StorageEngine
        let clock: MutableClock
        let breakerClock: ManualResilienceClock
        let changes: BreakerChanges
        let service: WebhookService
        let worker: WebhookDeliveryWorker
        /// The receiver made to fail, and one that stays healthy.
        let down: TestWebhookReceiver
        let up: TestWebhookReceiver

        func endpoint(_ receiver: TestWebhookReceiver) async throws -> WebhookEndpointID {
            try await service.create(WebhookEndpointDraft(url: receiver.url, eventTypes: [], ordered: false)).endpoint.id
        }

        func messages(_ endpoint: WebhookEndpointID, status: WebhookMessageStatus? = nil) async throws -> [WebhookMessage] {
            try await storage.webhooks.messages(endpoint: endpoint, status: status, before: nil, limit: 500)
        }

        /// One pass per `step` of breaker time until no message is due.
        func deliverDue(step: Duration = .milliseconds(100)) async {
            while await worker.runOnce() > 0 {
                breakerClock.advance(by: step)
            }
        }
    }

    static func with(
        _ kind: EngineKind, attemptTimeout: Duration = .seconds(2), _ body: (Bed) async throws -> Void
    ) async throws {
        let clock = MutableClock(Date())
        let breakerClock = ManualResilienceClock()
        let changes = BreakerChanges(clock: breakerClock)
        try await TestStorage.withStorage(kind, clock: clock.clock) { storage in
            try await TestWebhookReceiver.with { down in
                try await TestWebhookReceiver.with { up in
                    let transport = HTTPWebhookTransport()
                    let service = WebhookService(
                        repository: storage.webhooks, events: storage.events, checkURL: { _ in },
                        generateSecret: { WebhookSecret.generate().unredacted }, clock: clock.clock)
                    let worker = WebhookDeliveryWorker(
                        webhooks: storage.webhooks, events: storage.events, transport: transport,
                        policy: WebhookAttemptPolicy(schedule: WebhookTestbed.exactSchedule),
                        urlPolicy: WebhookURLPolicy(mode: .development),
                        settings: WebhookDeliverySettings(attemptTimeout: attemptTimeout, pollInterval: .milliseconds(10), concurrency: 4),
                        clock: clock.clock, logger: TestStorage.logger,
                        breakers: WebhookEndpointBreakers.map(
                            now: breakerClock.source, random: SeededDraws(seed: 3).source, onChange: changes.sink))
                    let bed = Bed(storage: storage, clock: clock, breakerClock: breakerClock, changes: changes, service: service,
                                  worker: worker, down: down, up: up)
                    do {
                        try await body(bed)
                        await transport.shutdown()
                    } catch {
                        await transport.shutdown()
                        throw error
                    }
                }
            }
        }
    }

    @Test("A receiver answering 503 has its attempts refused locally, recorded and rescheduled; the other endpoint is delivered in full; once it answers, all is delivered",
          arguments: EngineKind.available)
    func failingEndpointDoesNotThrottleAnother(_ kind: EngineKind) async throws {
        try await Self.with(kind) { bed in
            bed.down.script([], otherwise: .status(503))
            let down = try await bed.endpoint(bed.down)
            let up = try await bed.endpoint(bed.up)
            let events = 40
            for index in 0..<events {
                _ = try await bed.storage.users.findOrCreate(openid: "o-breaker-\(index)-\(UUID().uuidString)", unionid: nil)
            }
            await bed.deliverDue()

            #expect(try await bed.messages(up, status: .delivered).count == events)
            #expect(bed.up.received.count == events, "the healthy endpoint got every event once")
            let reached = bed.down.received.count
            #expect(reached <= 15, "the failing receiver saw \(reached) of \(events) first attempts")
            let failed = try await bed.messages(down, status: .failed)
            #expect(failed.count == events, "every message is rescheduled; none is a dead letter")
            var refused = 0
            for message in failed {
                let attempts = try await bed.storage.webhooks.attempts(message: message.id)
                #expect(attempts.count == 1)
                guard let attempt = attempts.first else { continue }
                if attempt.error?.hasPrefix(WebhookAttemptPolicy.refusedReasonPrefix) == true {
                    refused += 1
                    #expect(attempt.statusCode == nil)
                    #expect(attempt.error?.contains("reject probability") == true)
                } else {
                    #expect(attempt.statusCode == 503)
                }
            }
            #expect(refused + reached == events)
            let started = bed.changes.all.compactMap { change -> DependencyBreakerChange.Started? in
                if case .startedRefusing(let started) = change { return started }
                return nil
            }
            #expect(started.map(\.dependency) == ["webhook:\(down.rawValue)"], "only the failing endpoint's breaker refused")

            // The receiver answers again: every message is delivered on its next turns, and
            // the breaker stops refusing within seconds of breaker time.
            bed.down.script([], otherwise: .status(200))
            let recovered = bed.breakerClock.now
            for _ in 0..<60 {
                bed.clock.advance(4_000)
                await bed.deliverDue()
                if try await bed.messages(down, status: .delivered).count == events { break }
            }
            #expect(try await bed.messages(down, status: .delivered).count == events)
            let stopped = bed.changes.timed.first { if case .stoppedRefusing = $0.change { true } else { false } }
            let stoppedAfter = try #require(stopped.map { $0.at - recovered }, "the breaker never stopped refusing")
            #expect(stoppedAfter <= .seconds(5), "refusing stopped \(stoppedAfter) after the receiver recovered")
        }
    }

    @Test("A receiver that hangs past the attempt timeout stops holding delivery slots: its attempts are refused locally, the other endpoint is delivered",
          arguments: EngineKind.available)
    func hangingEndpointIsRefusedLocally(_ kind: EngineKind) async throws {
        try await Self.with(kind, attemptTimeout: .milliseconds(300)) { bed in
            bed.down.script([], otherwise: .delayed(.seconds(2)))
            let down = try await bed.endpoint(bed.down)
            let up = try await bed.endpoint(bed.up)
            let events = 30
            for index in 0..<events {
                _ = try await bed.storage.users.findOrCreate(openid: "o-hang-\(index)-\(UUID().uuidString)", unionid: nil)
            }
            await bed.deliverDue(step: .milliseconds(300))
            #expect(try await bed.messages(up, status: .delivered).count == events)
            let reached = bed.down.received.count
            #expect(reached <= 15, "the hanging receiver held a slot for \(reached) of \(events) attempts")
            #expect(try await bed.messages(down, status: .failed).count == events)
            #expect(try await bed.messages(down, status: .dead).isEmpty)
        }
    }
}
