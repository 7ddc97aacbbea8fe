import Foundation
import Logging
import SwiftletConfig
import SwiftletCore
import SwiftletOutboundTelemetry
import SwiftletRealtime
import SwiftletSQLStorage

/// The version this build reports (`swiftlet_build_info`).
public enum SwiftletBuild {
    public static let version = "0.9.0"
}

/// Metrics and tracing as configured, handed to the parts that record them.
///
/// Metrics are per application (`SwiftletMetrics`); spans go to the process's tracer,
/// which `swiftlet serve` bootstraps when `tracing.enabled` (a library embedder may
/// bootstrap its own). With tracing off no span is made at all, not even a no-op one.
struct TelemetryComposition: Sendable {
    let metrics: SwiftletMetrics?
    let traces: Bool

    init(_ config: SwiftletConfiguration) {
        metrics = config.metrics.enabled ? SwiftletMetrics() : nil
        traces = config.tracing.enabled
    }

    func outbound(_ service: String, errorLabel: String) -> OutboundCallTelemetry {
        OutboundCallTelemetry(service: service, errorLabel: errorLabel, factory: metrics, traces: traces)
    }

    /// Counts pay notifications by kind and outcome.
    var notificationCounter: @Sendable (String, String) -> Void {
        guard let metrics else { return { _, _ in } }
        return { kind, outcome in
            metrics.counter("swiftlet_wechatpay_notifications_total", [("kind", kind), ("outcome", outcome)]).increment()
        }
    }

    /// What is read at scrape time rather than counted as it happens.
    struct Watched {
        var storage: any StorageEngine
        var breakers: OutboundBreakers
        var shedder: LoadShedder?
        var rateLimits: RateLimitGuard?
        var logOutput: LogOutput?
        var realtime: RealtimeRegistry
        var jobKinds: [String]
        var clock: SwiftletClock
    }

    /// Attaches the storage engine and registers the scrape-time readings.
    func watch(_ watched: Watched) {
        guard let metrics else { return }
        let executor = watched.storage as? any SQLExecutor
        executor?.operations.attach(metrics, traces: traces)
        metrics.gauge("swiftlet_build_info", [("version", SwiftletBuild.version)]).set(to: 1)
        let maximum = executor?.operations.maximumConnections ?? 0
        metrics.gauge("db_client_connection_max").set(to: Double(maximum))
        // Every known job kind shows 0 rather than nothing when none is due.
        let knownKinds = Set(watched.jobKinds)
        metrics.onScrape {
            Self.readProcess(into: metrics)
            Self.readGuards(watched, into: metrics)
            if let executor {
                let pool = executor.operations.pool
                metrics.gauge("db_client_connection_count", [("state", "used")]).set(to: Double(pool.used))
                metrics.gauge("db_client_connection_count", [("state", "idle")]).set(to: Double(max(0, maximum - pool.used)))
                metrics.gauge("db_client_connection_pending_requests").set(to: Double(pool.pending))
            }
            let up = await Self.storageAnswers(watched.storage)
            metrics.gauge("swiftlet_storage_up").set(to: up ? 1 : 0)
            if up, let executor {
                await Self.readTables(SQLOperationalStats(executor: executor), kinds: knownKinds, now: watched.clock.now, into: metrics)
            }
        }
    }

    /// The database check of this scrape: answered within 1 s or not.
    static func storageAnswers(_ storage: any StorageEngine) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await storage.ping()) != nil }
            group.addTask {
                try? await Task.sleep(for: .seconds(1))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    static func readTables(_ stats: SQLOperationalStats, kinds: Set<String>, now: Date, into metrics: SwiftletMetrics) async {
        if let due = try? await stats.dueJobs(now: now) {
            for kind in kinds.union(due.keys.filter(kinds.contains)) {
                metrics.gauge("swiftlet_jobs_queued", [("kind", kind)]).set(to: Double(due[kind]?.count ?? 0))
                metrics.gauge("swiftlet_jobs_lag_seconds", [("kind", kind)]).set(to: due[kind]?.lagSeconds ?? 0)
            }
        }
        if let pending = try? await stats.outboxPending() {
            metrics.gauge("swiftlet_outbox_pending_events").set(to: Double(pending))
        }
    }

    static func readProcess(into metrics: SwiftletMetrics) {
        guard let process = ProcessMetrics.current() else { return }
        metrics.gauge("process_resident_memory_bytes").set(to: process.residentBytes)
        metrics.gauge("process_open_fds").set(to: process.openFileDescriptors)
        metrics.gauge("process_max_fds").set(to: process.maxFileDescriptors)
        metrics.gauge("process_start_time_seconds").set(to: process.startTimeSeconds)
        metrics.advance("process_cpu_seconds_total", to: process.cpuSeconds)
    }

    static func readGuards(_ watched: Watched, into metrics: SwiftletMetrics) {
        for snapshot in watched.breakers.snapshots() {
            let dependency = [("dependency", snapshot.dependency)]
            metrics.gauge("swiftlet_breaker_open", dependency).set(to: snapshot.isRefusing ? 1 : 0)
            metrics.advance("swiftlet_breaker_refusals_total", dependency, to: snapshot.totals.refusals)
        }
        if let shedder = watched.shedder {
            let snapshot = shedder.snapshot
            metrics.gauge("swiftlet_concurrency_limit").set(to: Double(snapshot.limit))
            metrics.gauge("swiftlet_concurrency_in_flight").set(to: Double(snapshot.inflight))
            for (requestClass, shed) in snapshot.shedByClass {
                metrics.advance("swiftlet_requests_shed_total", [("class", requestClass)], to: shed)
            }
        }
        if let rateLimits = watched.rateLimits {
            for (decision, count) in rateLimits.counts.byPolicy {
                metrics.advance("swiftlet_rate_limit_decisions_total",
                                [("policy", decision.policy), ("decision", decision.decision)], to: count)
            }
        }
        if let output = watched.logOutput {
            metrics.advance("swiftlet_log_lines_dropped_total", to: output.droppedLineCount)
        }
        let realtime = watched.realtime.counters.totals
        metrics.gauge("swiftlet_realtime_connections").set(to: Double(watched.realtime.connectionCount))
        metrics.advance("swiftlet_realtime_messages_delivered_total", to: realtime.delivered)
        metrics.advance("swiftlet_realtime_slow_consumer_closes_total", to: realtime.slowConsumerCloses)
        metrics.advance("swiftlet_realtime_resumes_total", [("outcome", "exact")], to: realtime.exactResumes)
        metrics.advance("swiftlet_realtime_resumes_total", [("outcome", "reset")], to: realtime.resetResumes)
    }
}
