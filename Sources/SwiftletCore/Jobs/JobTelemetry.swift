import CoreMetrics
import Tracing

/// What the job worker tells operators about each run: runs by kind and outcome, run
/// duration by kind, and an INTERNAL span `job <kind>` when tracing is on. Runs are
/// background work, so each span starts a trace of its own.
public struct JobTelemetry: Sendable {
    let factory: (any MetricsFactory)?
    let traces: Bool

    public init(factory: (any MetricsFactory)?, traces: Bool) {
        self.factory = factory
        self.traces = traces
    }

    public static let off = JobTelemetry(factory: nil, traces: false)

    /// How a run ended, as the `outcome` label.
    enum Outcome: String {
        /// Done, or asked to run again later (a payment still pending).
        case succeeded
        /// Threw; it backs off and runs again.
        case retried
        /// Threw past the worker's attempt limit, or has no handler: someone must look.
        case failed
    }

    func run<T: Sendable>(kind: String, _ body: @Sendable () async -> T) async -> T {
        guard traces else { return await body() }
        return await withSpan("job " + kind, context: .topLevel, ofKind: .internal) { span in
            span.attributes["swiftlet.job.kind"] = kind
            return await body()
        }
    }

    func record(kind: String, outcome: Outcome, since started: ContinuousClock.Instant?) {
        guard let factory else { return }
        Counter(label: "swiftlet_job_runs_total", dimensions: [("kind", kind), ("outcome", outcome.rawValue)], factory: factory)
            .increment()
        if let started {
            let (seconds, attoseconds) = (ContinuousClock.now - started).components
            Timer(label: "swiftlet_job_run_duration_seconds", dimensions: [("kind", kind)], factory: factory)
                .recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        }
    }
}
