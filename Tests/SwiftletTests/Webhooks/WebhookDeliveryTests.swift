import Foundation
import SwiftletCore
import SwiftletWebhookDelivery
import SwiftletWebhooks
import Testing

/// Webhook delivery against a real receiver on both engines: retries on the schedule
/// (moved by the injected clock), 410, timeouts, redirects, dead letters, replay, the
/// continuous-failure cut-off, FIFO per aggregate and secret rotation.
@Suite("Webhook delivery", .timeLimit(.minutes(3)))
struct WebhookDeliveryTests {
    @Test("A receiver that fails twice gets the same signed message three times, on the schedule", arguments: EngineKind.available)
    func failsThenSucceeds(_ kind: EngineKind) async throws {
        try await WebhookTestbed.with(kind) { bed in
            let endpoint = try await bed.endpoint()
            bed.receiver.script([.status(503, body: "busy"), .status(500)])
            let user = try await bed.userCreated()

            #expect(await bed.deliver() == 1)
            var message = try await bed.only(endpoint.endpoint.id)
            #expect(message.status == .failed)
            #expect(message.nextAttemptAt == bed.clock.now.addingTimeInterval(5).truncatedToMilliseconds)
            #expect(await bed.deliver() == 0, "not due before its retry time")

            bed.clock.advance(5)
            #expect(await bed.deliver() == 1)
            message = try await bed.only(endpoint.endpoint.id)
            #expect(message.status == .failed && message.attempts == 2)
            bed.clock.advance(299)
            #expect(await bed.deliver() == 0, "the second retry waits 5 minutes")
            bed.clock.advance(1)
            #expect(await bed.deliver() == 1)

            message = try await bed.only(endpoint.endpoint.id)
            #expect(message.status == .delivered && message.attempts == 3 && message.deliveredAt != nil)
            let attempts = try await bed.attempts(message.id)
            #expect(attempts.map(\.statusCode) == [503, 500, 200])
            #expect(attempts.map(\.number) == [1, 2, 3])
            #expect(attempts[0].responseBody == "busy")

            let received = bed.receiver.received
            #expect(received.count == 3)
            #expect(Set(received.map(\.id)) == [message.eventID.rawValue], "webhook-id is the event's, on every attempt")
            #expect(Set(received.map { $0.body }).count == 1, "every attempt sends the same bytes")
            for delivery in received { try bed.verify(delivery, secrets: [endpoint.secret]) }
            let first = try #require(received.first)
            #expect(first.json["type"] as? String == "user.created")
            #expect((first.json["payload"] as? [String: Any])?["userId"] as? String == user.rawValue)
            #expect(first.headers["content-type"] == "application/json")
        }
    }

    @Test("Retry-After from the receiver pushes the retry later, never sooner", arguments: EngineKind.available)
    func retryAfterHonoured(_ kind: EngineKind) async throws {
        try await WebhookTestbed.with(kind) { bed in
            let endpoint = try await bed.endpoint()
            bed.receiver.script([.status(429, headers: ["Retry-After": "120"]), .status(503, headers: ["Retry-After": "1"])])
            try await bed.userCreated()
            await bed.deliver()
            let first = bed.clock.now
            #expect(try await bed.only(endpoint.endpoint.id).nextAttemptAt == first.addingTimeInterval(120).truncatedToMilliseconds)
            bed.clock.advance(120)
            await bed.deliver()
            let second = bed.clock.now
            #expect(try await bed.only(endpoint.endpoint.id).nextAttemptAt == second.addingTimeInterval(300).truncatedToMilliseconds,
                    "Retry-After: 1 does not make the retry sooner than the schedule")
        }
    }

    @Test("410 Gone disables the endpoint, records an operator event, and a replay from then delivers what it missed",
          arguments: EngineKind.available)
    func goneDisablesEndpoint(_ kind: EngineKind) async throws {
        try await WebhookTestbed.with(kind) { bed in
            let endpoint = try await bed.endpoint(types: [DomainEventTypes.userCreated])
            bed.receiver.script([.status(410)])
            try await bed.userCreated()
            await bed.deliver()

            let disabled = try await bed.service.endpoint(endpoint.endpoint.id)
            #expect(disabled.enabled == false)
            #expect(disabled.disabledReason == "the endpoint answered 410 Gone")
            let disabledAt = try #require(disabled.disabledAt)
            let operatorEvents = try await bed.storage.events.events(after: 0, limit: 100)
                .filter { $0.event.type == DomainEventTypes.webhookEndpointDisabled }
            #expect(operatorEvents.count == 1)
            #expect(operatorEvents.first?.event.aggregateID == endpoint.endpoint.id.rawValue)

            // While disabled: nothing is sent, and new events make no messages.
            try await bed.userCreated()
            try await bed.userCreated()
            bed.clock.advance(3600)
            #expect(await bed.deliver() == 0)
            #expect(bed.receiver.received.count == 1)

            _ = try await bed.service.update(endpoint.endpoint.id, WebhookEndpointUpdate(enabled: true))
            let replayed = try await bed.service.replay(
                endpoint: endpoint.endpoint.id, WebhookService.ReplayScope(from: disabledAt.addingTimeInterval(-60)))
            #expect(replayed == 3, "the message that got 410 and the two events it missed")
            var delivered = 0
            for _ in 0..<3 { delivered += await bed.deliver() }
            #expect(delivered == 3)
            #expect(try await bed.messages(endpoint.endpoint.id, status: .delivered).count == 3)
            #expect(bed.receiver.received.count == 4)
        }
    }

    @Test("A receiver that hangs past the attempt timeout is a failed attempt with no status", arguments: EngineKind.available)
    func hangTimesOut(_ kind: EngineKind) async throws {
        try await WebhookTestbed.with(kind, attemptTimeout: .milliseconds(400)) { bed in
            let endpoint = try await bed.endpoint()
            bed.receiver.script([.delayed(.seconds(5))])
            try await bed.userCreated()
            await bed.deliver()
            let message = try await bed.only(endpoint.endpoint.id)
            #expect(message.status == .failed)
            let attempt = try #require(try await bed.attempts(message.id).first)
            #expect(attempt.statusCode == nil)
            #expect(attempt.error?.contains("no answer within") == true)
            #expect(attempt.latencyMilliseconds >= 350)
            #expect(attempt.latencyMilliseconds < 3_000, "the attempt is cut at its timeout, not at the receiver's 5 s")
        }
    }

    @Test("A slow answer inside the timeout is delivered, with its latency recorded", arguments: EngineKind.available)
    func slowAnswerDelivered(_ kind: EngineKind) async throws {
        try await WebhookTestbed.with(kind, attemptTimeout: .seconds(3)) { bed in
            let endpoint = try await bed.endpoint()
            bed.receiver.script([.delayed(.milliseconds(500))])
            try await bed.userCreated()
            await bed.deliver()
            let message = try await bed.only(endpoint.endpoint.id)
            #expect(message.status == .delivered)
            let attempt = try #require(try await bed.attempts(message.id).first)
            #expect(attempt.statusCode == 200 && attempt.latencyMilliseconds >= 450)
            #expect(attempt.responseBody == "late")
        }
    }

    @Test("3xx is a failure and the redirect is not followed", arguments: EngineKind.available)
    func redirectIsFailure(_ kind: EngineKind) async throws {
        try await WebhookTestbed.with(kind) { bed in
            let endpoint = try await bed.endpoint()
            bed.receiver.script([.status(307, headers: ["Location": "http://127.0.0.1:\(bed.receiver.port)/elsewhere"])])
            try await bed.userCreated()
            await bed.deliver()
            let message = try await bed.only(endpoint.endpoint.id)
            #expect(message.status == .failed && message.lastStatusCode == 307)
            #expect(message.lastError == "redirects are not followed")
            #expect(bed.receiver.received.map(\.path) == ["/hook"])
        }
    }

    @Test("After the last retry the message is a dead letter; replay by id and by status sends it again", arguments: EngineKind.available)
    func deadLetterAndReplay(_ kind: EngineKind) async throws {
        let schedule = WebhookRetrySchedule(delays: [.seconds(1), .seconds(1)], random: { 0.5 })
        try await WebhookTestbed.with(kind, schedule: schedule) { bed in
            let endpoint = try await bed.endpoint()
            bed.receiver.script([], otherwise: .status(500))
            try await bed.userCreated()
            try await bed.userCreated()
            for _ in 0..<3 {
                await bed.deliver()
                bed.clock.advance(1)
            }
            let dead = try await bed.messages(endpoint.endpoint.id, status: .dead)
            #expect(dead.count == 2)
            #expect(await bed.deliver() == 0, "a dead letter is not retried")
            try #require(dead.count == 2)
            #expect(try await bed.attempts(dead[0].id).count == 3)

            bed.receiver.script([], otherwise: .status(204))
            let replayed = try await bed.service.replay(message: dead[0].id)
            #expect(replayed.status == .pending && replayed.attempts == 0)
            #expect(await bed.deliver() == 1)
            #expect(try await bed.storage.webhooks.message(dead[0].id)?.status == .delivered)
            #expect(try await bed.attempts(dead[0].id).count == 4, "past attempts stay recorded")

            let count = try await bed.service.replay(endpoint: endpoint.endpoint.id, WebhookService.ReplayScope(statuses: [.dead]))
            #expect(count == 1)
            #expect(await bed.deliver() == 1)
            #expect(try await bed.messages(endpoint.endpoint.id, status: .delivered).count == 2)
        }
    }

    @Test("An endpoint failing continuously for the configured time is disabled", arguments: EngineKind.available)
    func failingTooLongDisables(_ kind: EngineKind) async throws {
        let schedule = WebhookRetrySchedule(delays: Array(repeating: .seconds(86_400), count: 10), random: { 0.5 })
        try await WebhookTestbed.with(kind, schedule: schedule, disableAfter: 5 * 86_400) { bed in
            let endpoint = try await bed.endpoint()
            bed.receiver.script([], otherwise: .status(502))
            try await bed.userCreated()
            let start = bed.clock.now
            for day in 0..<5 {
                await bed.deliver()
                let current = try await bed.service.endpoint(endpoint.endpoint.id)
                #expect(current.enabled, "still enabled on day \(day)")
                #expect(current.failingSince == start.truncatedToMilliseconds)
                bed.clock.advance(86_400)
            }
            await bed.deliver()
            let disabled = try await bed.service.endpoint(endpoint.endpoint.id)
            #expect(disabled.enabled == false)
            #expect(disabled.disabledReason == "every attempt failed for 5 days")
            let events = try await bed.storage.events.events(after: 0, limit: 100).map(\.event.type)
            #expect(events.contains(DomainEventTypes.webhookEndpointDisabled))
        }
    }

    @Test("A success ends the failing streak", arguments: EngineKind.available)
    func successResetsStreak(_ kind: EngineKind) async throws {
        try await WebhookTestbed.with(kind) { bed in
            let endpoint = try await bed.endpoint()
            bed.receiver.script([.status(500)])
            try await bed.userCreated()
            await bed.deliver()
            #expect(try await bed.service.endpoint(endpoint.endpoint.id).failingSince != nil)
            bed.clock.advance(5)
            await bed.deliver()
            #expect(try await bed.service.endpoint(endpoint.endpoint.id).failingSince == nil)
        }
    }

    @Test("An ordered endpoint holds a later event about the same order until the earlier one is delivered",
          arguments: EngineKind.available)
    func orderedEndpointIsFIFOPerAggregate(_ kind: EngineKind) async throws {
        try await WebhookTestbed.with(kind) { bed in
            _ = try await bed.endpoint(types: [DomainEventTypes.orderCreated, DomainEventTypes.orderCancelled], ordered: true)
            let shop = try await EventOutboxTests.Shop.open(bed.storage)
            let first = try await shop.place("k1")
            try await shop.move(first, .cancel(.user), stock: .release)

            bed.receiver.script([.status(503)])
            #expect(await bed.deliver() == 1, "order 1's creation fails; its cancellation waits for it")
            let other = try await shop.place("k2")
            #expect(await bed.deliver() == 1, "another order's event does not wait")
            #expect(bed.receiver.received.last?.json["aggregateId"] as? String == other.id.rawValue)
            #expect(await bed.deliver() == 0, "the cancellation still waits for the retry")
            bed.clock.advance(5)
            #expect(await bed.deliver() == 1, "the retried creation")
            #expect(await bed.deliver() == 1, "then the cancellation")
            let types = bed.receiver.received.filter { $0.json["aggregateId"] as? String == first.id.rawValue }
                .map { $0.json["type"] as? String }
            #expect(types == ["order.created", "order.created", "order.cancelled"])
        }
    }

    @Test("An unordered endpoint does not hold later events back", arguments: EngineKind.available)
    func unorderedEndpointDoesNotWait(_ kind: EngineKind) async throws {
        try await WebhookTestbed.with(kind) { bed in
            _ = try await bed.endpoint(types: [DomainEventTypes.orderCreated, DomainEventTypes.orderCancelled])
            let shop = try await EventOutboxTests.Shop.open(bed.storage)
            let order = try await shop.place("k1")
            try await shop.move(order, .cancel(.user), stock: .release)
            bed.receiver.script([.status(503)])
            #expect(await bed.deliver() == 2)
        }
    }

    @Test("After a rotation both secrets sign until the overlap ends, then only the new one", arguments: EngineKind.available)
    func rotationSignsWithBoth(_ kind: EngineKind) async throws {
        try await WebhookTestbed.with(kind) { bed in
            let created = try await bed.endpoint()
            let rotated = try await bed.service.rotateSecret(created.endpoint.id)
            #expect(rotated.secret != created.secret && rotated.secret.hasPrefix("whsec_"))
            try await bed.userCreated()
            await bed.deliver()
            let during = try #require(bed.receiver.received.last)
            let signatures = during.signature.split(separator: " ")
            #expect(signatures.count == 2 && signatures.allSatisfy { $0.hasPrefix("v1,") })
            try bed.verify(during, secrets: [created.secret])
            try bed.verify(during, secrets: [rotated.secret])

            bed.clock.advance(86_400)
            try await bed.userCreated()
            await bed.deliver()
            let after = try #require(bed.receiver.received.last)
            #expect(after.signature.split(separator: " ").count == 1)
            try bed.verify(after, secrets: [rotated.secret])
            #expect(throws: StandardWebhookVerificationError.self) { try bed.verify(after, secrets: [created.secret]) }
        }
    }

    @Test("The address is checked again at delivery: a host now resolving to a private address is refused",
          arguments: EngineKind.available)
    func rebindingRefusedAtDelivery(_ kind: EngineKind) async throws {
        let resolver = FixedResolver(addresses: ["hooks.example.com": ["10.1.2.3"]])
        try await WebhookTestbed.with(kind, urlPolicy: WebhookURLPolicy(mode: .production), resolver: resolver) { bed in
            let endpoint = try await bed.service.create(WebhookEndpointDraft(url: "https://hooks.example.com/in"))
            try await bed.userCreated()
            await bed.deliver()
            let message = try await bed.only(endpoint.endpoint.id)
            #expect(message.status == .failed)
            #expect(message.lastError == "URL refused at delivery: webhooks.url_forbidden")
            #expect(bed.receiver.received.isEmpty)
        }
    }

    @Test("Events are dispatched once to each enabled endpoint whose filter accepts them", arguments: EngineKind.available)
    func dispatchFollowsFilters(_ kind: EngineKind) async throws {
        try await WebhookTestbed.with(kind) { bed in
            let users = try await bed.endpoint(types: [DomainEventTypes.userCreated])
            let orders = try await bed.endpoint(types: [DomainEventTypes.orderCreated])
            let everything = try await bed.endpoint()
            try await bed.userCreated()
            let dispatcher = WebhookDispatcher(webhooks: bed.storage.webhooks, events: bed.storage.events, clock: bed.clock.clock)
            #expect(try await dispatcher.dispatchOnce() == 1)
            #expect(try await dispatcher.dispatchOnce() == 0, "the cursor moved past it")
            #expect(try await bed.messages(users.endpoint.id).count == 1)
            #expect(try await bed.messages(orders.endpoint.id).isEmpty)
            #expect(try await bed.messages(everything.endpoint.id).count == 1)
        }
    }

    @Test("Retention removes finished messages with their attempts, and only outbox events the dispatch has passed",
          arguments: EngineKind.available)
    func retentionKeepsWhatIsStillNeeded(_ kind: EngineKind) async throws {
        try await WebhookTestbed.with(kind) { bed in
            let endpoint = try await bed.endpoint()
            try await bed.userCreated()
            bed.receiver.script([], otherwise: .status(500))
            try await bed.userCreated()
            bed.receiver.script([.status(200)], otherwise: .status(500))
            await bed.deliver()
            bed.clock.advance(1)
            // Written after the dispatch ran, and dispatch now off: it must survive pruning.
            try await bed.userCreated()

            bed.clock.advance(40 * 86_400)
            let cutoff = bed.clock.now.addingTimeInterval(-30 * 86_400)
            let removedRows = try await bed.storage.webhooks.prune(before: cutoff)
            #expect(removedRows == 2, "the delivered message and its one attempt")
            let remaining = try await bed.messages(endpoint.endpoint.id)
            #expect(remaining.count == 1 && remaining[0].status == .failed, "an outstanding message stays, however old")

            let cursor = try await bed.storage.webhooks.dispatchCursor()
            #expect(cursor == 2)
            #expect(try await bed.storage.events.prune(before: cutoff, through: cursor) == 2)
            let left = try await bed.storage.events.events(after: 0, limit: 10)
            #expect(left.map(\.position) == [3], "the event not yet dispatched stays")
        }
    }
}

/// Resolves names from a fixed table, for checks at delivery time.
struct FixedResolver: WebhookHostResolver {
    let addresses: [String: [String]]
    func resolve(host: String) async throws -> [WebhookIPAddress] {
        (addresses[host] ?? []).compactMap(WebhookIPAddress.init)
    }
}

extension Date {
    /// What the database gives back: whole milliseconds.
    var truncatedToMilliseconds: Date { Date(unixMilliseconds: unixMilliseconds) }
}
