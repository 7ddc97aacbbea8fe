import Foundation
import Logging
import SwiftletCore
import SwiftletResilience
import SwiftletWebhooks

/// Delivers webhooks on one node: dispatches new outbox events into messages, claims due
/// messages, and sends each one signed, recording every attempt.
///
/// Several nodes can run it against one database: dispatch moves a shared cursor by
/// compare-and-set, and messages are leased, so each attempt is made by one node; a node
/// that dies mid-attempt loses its lease and another node tries again later with the same
/// `webhook-id` (at-least-once, as docs/events.md says).
///
/// Before every attempt the URL is checked again and its host resolved again, and the
/// request goes to an address that check accepted (DNS rebinding is refused per attempt).
///
/// Each endpoint has its own breaker (`breakers`): while an endpoint's recent attempts
/// mostly fail, a share of its attempts is refused locally before any DNS or HTTP work,
/// recorded as failed and left to the schedule (see `WebhookAttemptPolicy`).
public struct WebhookDeliveryWorker: Sendable {
    let webhooks: any WebhookRepository
    let dispatcher: WebhookDispatcher
    let transport: any WebhookTransport
    let policy: WebhookAttemptPolicy
    let urlPolicy: WebhookURLPolicy
    let resolver: any WebhookHostResolver
    let settings: WebhookDeliverySettings
    let clock: SwiftletClock
    /// One warning per outage (then one a minute), not one per poll.
    private let pollFailures: FailureStreakLog
    let logger: Logger
    /// One breaker per endpoint, bounded in number.
    public let breakers: DependencyBreakerMap
    public let workerID: String
    /// Attempt metrics and spans (off unless the application turns them on).
    public var telemetry: WebhookDeliveryTelemetry = .off

    public init(webhooks: any WebhookRepository, events: any EventOutboxRepository, transport: any WebhookTransport,
                policy: WebhookAttemptPolicy, urlPolicy: WebhookURLPolicy,
                resolver: any WebhookHostResolver = SystemWebhookHostResolver(), settings: WebhookDeliverySettings,
                clock: SwiftletClock, logger: Logger, breakers: DependencyBreakerMap = WebhookEndpointBreakers.map()) {
        self.webhooks = webhooks
        self.dispatcher = WebhookDispatcher(webhooks: webhooks, events: events, clock: clock)
        self.transport = transport
        self.policy = policy
        self.urlPolicy = urlPolicy
        self.resolver = resolver
        self.settings = settings
        self.clock = clock
        self.logger = logger
        self.pollFailures = FailureStreakLog("webhook poll failed", clock: clock)
        self.breakers = breakers
        self.workerID = "wh_" + RandomID.base32(byteCount: 8)
    }

    private enum Wake { case attemptDone(WebhookRecordedAttempt), tick }

    /// Delivers until the task is cancelled, with up to `settings.concurrency` attempts in
    /// flight: a slow or hanging receiver holds one slot, not the whole node. Finished
    /// attempts are stored together, one transaction per wake-up (their messages stay
    /// leased until then, so nothing else sends them meanwhile).
    public func run() async {
        await withTaskGroup(of: Wake.self) { group in
            var inFlight = 0
            var ticking = false
            var finished: [WebhookRecordedAttempt] = []
            while !Task.isCancelled {
                await store(finished)
                finished.removeAll(keepingCapacity: true)
                let free = settings.concurrency - inFlight
                if free > 0 {
                    for delivery in await dispatchAndClaim(limit: free) {
                        inFlight += 1
                        group.addTask { .attemptDone(await self.attempt(delivery)) }
                    }
                }
                if !ticking {
                    ticking = true
                    group.addTask { try? await Task.sleep(for: self.settings.pollInterval); return .tick }
                }
                // Claim again when a tick passes, or when half the slots are free again, so
                // a busy node claims in batches rather than one query per finished attempt.
                while let wake = await group.next() {
                    guard case .attemptDone(let recorded) = wake else { ticking = false; break }
                    finished.append(recorded)
                    inFlight -= 1
                    if inFlight <= settings.concurrency / 2 { break }
                }
            }
            // Shutting down: attempts cut short now are not the receiver's failures, so they
            // are not stored; their messages stay leased and are sent again once it lapses.
            group.cancelAll()
            for await _ in group {}
            await store(finished)
        }
    }

    /// One pass for tests and tools: dispatch, claim, run the attempts to the end and
    /// store them. Returns how many attempts were made.
    @discardableResult
    public func runOnce() async -> Int {
        let claimed = await dispatchAndClaim(limit: settings.concurrency)
        let finished = await withTaskGroup(of: WebhookRecordedAttempt.self) { group in
            for delivery in claimed { group.addTask { await self.attempt(delivery) } }
            return await group.reduce(into: [WebhookRecordedAttempt]()) { $0.append($1) }
        }
        await store(finished)
        return claimed.count
    }

    private func dispatchAndClaim(limit: Int) async -> [WebhookDelivery] {
        do {
            while try await dispatcher.dispatchOnce() > 0 {}
            let now = clock.now
            let claimed = try await webhooks.claimDue(
                worker: workerID, now: now, leaseUntil: now.addingTimeInterval(settings.lease.timeInterval), limit: limit)
            pollFailures.succeeded(logger: logger)
            return claimed
        } catch is CancellationError {
            return []
        } catch {
            pollFailures.failed(error, logger: logger)
            return []
        }
    }

    /// One attempt of one message, decided but not yet stored.
    func attempt(_ delivery: WebhookDelivery) async -> WebhookRecordedAttempt {
        guard let event = delivery.event else {
            return WebhookRecordedAttempt(record: policy.eventMissing(delivery, at: clock.now), endpointEvent: nil)
        }
        // Latency is measured, not scheduled: the monotonic clock, never the injected one.
        let started = ContinuousClock.now
        let endpoint = delivery.message.endpointID.rawValue
        let answer = await telemetry.deliver(endpoint: endpoint, event: event.event.type) { traceHeaders in
            await send(event, delivery, traceHeaders: traceHeaders)
        }
        let latency = (ContinuousClock.now - started).timeInterval * 1000
        let (record, endpointEvent) = policy.decide(delivery, answer: answer, at: clock.now, latencyMilliseconds: Int(latency.rounded()))
        telemetry.record(endpoint: endpoint, answer: answer, outcome: record.outcome)
        return WebhookRecordedAttempt(record: record, endpointEvent: endpointEvent)
    }

    /// Stores finished attempts in one transaction and logs them. An attempt whose lease
    /// was lost meanwhile (another node took the message over) is dropped; a failed write
    /// leaves the messages leased, so they are sent again once the leases lapse.
    private func store(_ finished: [WebhookRecordedAttempt]) async {
        guard !finished.isEmpty else { return }
        do {
            let stored = try await webhooks.record(finished, worker: workerID)
            for recorded in finished {
                if stored.contains(recorded.record.attempt.messageID) {
                    log(recorded.record)
                } else {
                    logger.warning("webhook lease lost before the attempt was recorded", metadata: [
                        "message": .string(recorded.record.attempt.messageID.rawValue)])
                }
            }
        } catch {
            logger.warning("webhook attempts not recorded; they are sent again when their leases lapse", metadata: [
                "attempts": .stringConvertible(finished.count), "error": .string(ErrorLog.describe(error))])
        }
    }

    private func send(
        _ event: StoredDomainEvent, _ delivery: WebhookDelivery, traceHeaders: [(name: String, value: String)]
    ) async -> WebhookAnswer {
        let breaker = breakers.breaker(for: delivery.message.endpointID.rawValue)
        let ticket: DependencyTicket
        do {
            ticket = try breaker.admit()
        } catch {
            return .refused(WebhookAttemptPolicy.refusedReason(error))
        }
        let request: WebhookRequest
        switch await prepare(event, delivery) {
        case .ready(var ready):
            ready.headers += traceHeaders
            request = ready
        case .notSent(let answer):
            breaker.abandon(ticket)
            return answer
        }
        let answer = await transport.send(request)
        // Only a request that reached the receiver counts; one cut short by shutdown says
        // nothing about it.
        if let outcome = answer.receiverOutcome, !Task.isCancelled {
            breaker.record(outcome, for: ticket)
        } else {
            breaker.abandon(ticket)
        }
        return answer
    }

    private enum Prepared {
        case ready(WebhookRequest)
        /// Refused before any request: the URL no longer passes, or no secret signs.
        case notSent(WebhookAnswer)
    }

    /// The signed request to the address the URL check accepted now.
    private func prepare(_ event: StoredDomainEvent, _ delivery: WebhookDelivery) async -> Prepared {
        let destination: WebhookDestination
        do {
            destination = try await urlPolicy.resolveAndCheck(delivery.url, resolver: resolver)
        } catch {
            return .notSent(.failure("URL refused at delivery: \(error.code)"))
        }
        let secrets = delivery.secrets.signing(at: clock.now).compactMap { try? WebhookSecret(parsing: $0) }
        guard !secrets.isEmpty else { return .notSent(.failure("the endpoint has no usable signing secret")) }
        let body = WebhookBody.bytes(event)
        let headers = StandardWebhookSigner(secrets: secrets).headers(
            id: event.event.id.rawValue, timestamp: StandardWebhookHeaders.timestamp(for: clock.now), body: body)
        return .ready(WebhookRequest(destination: destination, headers: headers.fields, body: body, timeout: settings.attemptTimeout))
    }

    private func log(_ record: WebhookAttemptRecord) {
        let attempt = record.attempt
        var metadata: Logger.Metadata = [
            "message": .string(attempt.messageID.rawValue), "endpoint": .string(attempt.endpointID.rawValue),
            "attempt": .stringConvertible(attempt.number), "latencyMs": .stringConvertible(attempt.latencyMilliseconds),
        ]
        if let status = attempt.statusCode { metadata["status"] = .stringConvertible(status) }
        if let error = attempt.error { metadata["error"] = .string(error) }
        switch (record.outcome, record.endpoint) {
        case (_, .disable(let reason)):
            metadata["reason"] = .string(reason)
            logger.error("webhook endpoint disabled", metadata: metadata)
        case (.delivered, _):
            logger.debug("webhook delivered", metadata: metadata)
        case (.retry, _) where attempt.error?.hasPrefix(WebhookAttemptPolicy.refusedReasonPrefix) == true:
            // The endpoint's breaker logs when it starts and stops refusing; one line per
            // refused attempt would flood the log while a receiver is down.
            logger.debug("webhook attempt refused locally, will retry", metadata: metadata)
        case (.retry, _):
            logger.info("webhook attempt failed, will retry", metadata: metadata)
        case (.dead, _):
            logger.warning("webhook message is a dead letter", metadata: metadata)
        }
    }
}
