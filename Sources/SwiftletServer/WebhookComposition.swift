import Foundation
import Logging
import ServiceLifecycle
import SwiftletConfig
import SwiftletCore
import SwiftletResilience
import SwiftletWebhookDelivery
import SwiftletWebhooks

/// Outbound webhooks wired from config: the operators' service (admin API and CLI) and,
/// when this node delivers, the delivery worker.
struct WebhookComposition {
    let service: WebhookService
    let worker: WebhookDeliveryWorker?
    let transport: any WebhookTransport

    init(_ config: SwiftletConfiguration, storage: any StorageEngine, clock: SwiftletClock, logger: Logger,
         transport: (any WebhookTransport)? = nil, breakers: DependencyBreakerMap, telemetry: TelemetryComposition) throws {
        let urlPolicy = try Self.urlPolicy(config)
        service = WebhookService(
            repository: storage.webhooks, events: storage.events, checkURL: Self.urlCheck(urlPolicy),
            generateSecret: { WebhookSecret.generate().unredacted }, clock: clock,
            policy: WebhookService.Policy(secretOverlap: config.webhooks.secretOverlapSeconds))
        let transport = transport ?? HTTPWebhookTransport()
        self.transport = transport
        guard config.webhooks.deliver else {
            worker = nil
            return
        }
        let webhooks = config.webhooks
        var worker = WebhookDeliveryWorker(
            webhooks: storage.webhooks, events: storage.events, transport: transport,
            policy: WebhookAttemptPolicy(
                schedule: WebhookRetrySchedule(
                    delays: webhooks.retryDelaysSeconds.map { .seconds($0) },
                    jitter: webhooks.retryJitter),
                disableAfter: webhooks.disableAfterSeconds),
            urlPolicy: urlPolicy,
            settings: WebhookDeliverySettings(
                attemptTimeout: .seconds(webhooks.attemptTimeoutSeconds), pollInterval: .seconds(webhooks.pollIntervalSeconds),
                lease: .seconds(webhooks.leaseSeconds),
                concurrency: webhooks.concurrency),
            clock: clock, logger: logger, breakers: breakers)
        worker.telemetry = WebhookDeliveryTelemetry(factory: telemetry.metrics, traces: telemetry.traces)
        self.worker = worker
    }

    /// Production sends only to public https receivers (plus the allow-list); the other
    /// profiles also allow http and loopback, for receivers on a developer's machine.
    static func urlPolicy(_ config: SwiftletConfiguration) throws -> WebhookURLPolicy {
        let allowList: WebhookAllowList
        do {
            allowList = try WebhookAllowList(entries: config.webhooks.allowList)
        } catch {
            throw ConfigurationError(problems: [.init(key: "webhooks.allowList", message: "\(error)")])
        }
        return WebhookURLPolicy(mode: config.profile == .production ? .production : .development, allowList: allowList)
    }

    /// The registration check: the URL policy with DNS, its refusal as a 400 naming the
    /// host and the range (never the path or query).
    static func urlCheck(_ policy: WebhookURLPolicy) -> WebhookService.URLCheck {
        { url in
            do {
                _ = try await policy.resolveAndCheck(url)
            } catch let error as WebhookURLError {
                throw SwiftletError.invalid(error.code, error.description)
            }
        }
    }

    var lifecycleServices: [any Service] {
        [WebhookTransportService(transport: transport)] + (worker.map { [WebhookDeliveryService(worker: $0)] } ?? [])
    }
}

/// Runs the delivery worker until graceful shutdown. An attempt cut short keeps its
/// lease until it lapses; the message is then due again, on this node or another.
struct WebhookDeliveryService: Service {
    let worker: WebhookDeliveryWorker

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await worker.run()
        }
    }
}

/// Closes the webhook HTTP clients after the worker stopped (services stop in reverse order).
struct WebhookTransportService: Service {
    let transport: any WebhookTransport

    func run() async throws {
        try? await gracefulShutdown()
        await transport.shutdown()
    }
}

/// Daily housekeeping of delivered and dead webhook messages and of the outbox, as one
/// recurring job (`webhooks.prune`, key `daily`: one node a day in a cluster).
enum WebhookMaintenance {
    static let kind = "webhooks.prune"

    static func schedule(jobs: any JobRepository, clock: SwiftletClock) async throws {
        try await jobs.enqueue(JobRequest(kind: kind, key: "daily", payload: "", runAt: clock.now.addingTimeInterval(120)))
    }

    /// Deletes finished messages older than `retention`, and outbox events older than it
    /// that the webhook dispatch has passed (an event not yet dispatched stays, however
    /// old, until it has been).
    static func handlers(webhooks: any WebhookRepository, events: any EventOutboxRepository, retention: TimeInterval,
                         clock: SwiftletClock, logger: Logger) -> [String: JobHandler]
    {
        [
            kind: { _ in
                let before = clock.now.addingTimeInterval(-retention)
                let messages = try await webhooks.prune(before: before)
                let outbox = try await events.prune(before: before, through: try await webhooks.dispatchCursor())
                logger.info("pruned webhook messages and outbox events", metadata: [
                    "messageRows": .stringConvertible(messages), "events": .stringConvertible(outbox),
                ])
                return .retry(after: 86_400)
            },
        ]
    }
}

/// The operators' webhook service outside a running server (the `swiftlet admin webhooks`
/// commands): the same checks and secrets as the admin API.
public enum WebhookAdministration {
    public static func service(_ config: SwiftletConfiguration, storage: any StorageEngine) throws -> WebhookService {
        let urlPolicy = try WebhookComposition.urlPolicy(config)
        return WebhookService(
            repository: storage.webhooks, events: storage.events,
            checkURL: WebhookComposition.urlCheck(urlPolicy),
            generateSecret: { WebhookSecret.generate().unredacted }, clock: .system,
            policy: WebhookService.Policy(secretOverlap: config.webhooks.secretOverlapSeconds))
    }
}
