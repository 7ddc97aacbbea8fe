/// One metric family Swiftlet exports: its Prometheus name, type and help text.
///
/// Every family is listed here, whichever module records it, so the exposition can show
/// each one with `# HELP` and `# TYPE` before it has a series (a dashboard or an alert
/// naming it then finds it), and so one file says what the server exports.
public struct MetricFamily: Sendable {
    public enum Kind: Sendable {
        case counter
        case gauge
        /// A histogram of seconds (or plain values) with these upper bounds.
        case histogram(buckets: [Double])

        var typeName: String {
            switch self {
            case .counter: "counter"
            case .gauge: "gauge"
            case .histogram: "histogram"
            }
        }
    }

    public let name: String
    public let kind: Kind
    public let help: String
}

/// The families this server exports (docs/operations.md, "Metrics", lists them too).
public enum MetricCatalogue {
    /// The OpenTelemetry HTTP semantic conventions' advised boundaries (seconds).
    static let requestBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
    static let databaseBuckets: [Double] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10]
    static let callBuckets: [Double] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    public static let families: [MetricFamily] = [
        // HTTP server (OpenTelemetry HTTP semantic conventions, Prometheus naming).
        .init(name: "http_server_request_duration_seconds", kind: .histogram(buckets: requestBuckets),
              help: "Duration of HTTP server requests, by method, route template, status code and error type."),
        .init(name: "http_server_active_requests", kind: .gauge, help: "HTTP server requests being answered now."),
        // Database.
        .init(name: "db_client_operation_duration_seconds", kind: .histogram(buckets: databaseBuckets),
              help: "Duration of database operations (a repository call: one statement or one transaction)."),
        .init(name: "db_client_connection_count", kind: .gauge, help: "Database connections by state (used, idle)."),
        .init(name: "db_client_connection_max", kind: .gauge, help: "The most database connections the pool may open."),
        .init(name: "db_client_connection_pending_requests", kind: .gauge,
              help: "Requests waiting for a database connection."),
        .init(name: "swiftlet_storage_up", kind: .gauge,
              help: "1 when the database answered the check run at this scrape (1 s timeout), else 0."),
        // Jobs.
        .init(name: "swiftlet_jobs_queued", kind: .gauge, help: "Jobs due now and not yet taken, by kind."),
        .init(name: "swiftlet_jobs_lag_seconds", kind: .gauge, help: "Age of the oldest due job not yet taken, by kind (0 when none)."),
        .init(name: "swiftlet_job_runs_total", kind: .counter,
              help: "Job runs on this node by kind and outcome (succeeded, retried, failed: no retries left)."),
        .init(name: "swiftlet_job_run_duration_seconds", kind: .histogram(buckets: callBuckets),
              help: "Duration of job runs on this node, by kind."),
        // Flash sales (with Redis; at 0 without).
        .init(name: "swiftlet_flash_sale_reservations_total", kind: .counter,
              help: "Flash-sale buyers by the Redis gate's answer (reserved, sold_out, already_held, not_loaded, unreachable: the database decided alone, given_back)."),
        .init(name: "swiftlet_flash_sale_reconciliations_total", kind: .counter,
              help: "Flash-sale reconciliations of one SKU by outcome (loaded, agreed, repaired, busy; failed: the whole round)."),
        // Events out.
        .init(name: "swiftlet_webhook_attempts_total", kind: .counter,
              help: "Webhook delivery attempts by endpoint and outcome (delivered, failed, refused by the breaker)."),
        .init(name: "swiftlet_webhook_dead_letters_total", kind: .counter,
              help: "Webhook deliveries given up after the last attempt, by endpoint."),
        .init(name: "swiftlet_outbox_pending_events", kind: .gauge, help: "Outbox events not yet dispatched to webhooks."),
        // Realtime.
        .init(name: "swiftlet_realtime_connections", kind: .gauge, help: "Realtime WebSocket connections open on this node."),
        .init(name: "swiftlet_realtime_messages_delivered_total", kind: .counter,
              help: "Realtime messages written to clients on this node."),
        .init(name: "swiftlet_realtime_slow_consumer_closes_total", kind: .counter,
              help: "Realtime connections closed because the client did not read fast enough."),
        .init(name: "swiftlet_realtime_resumes_total", kind: .counter,
              help: "Realtime resumes by outcome (exact: every missed message replayed; reset: too far behind)."),
        // WeChat and WeChat Pay.
        .init(name: "swiftlet_wechat_call_duration_seconds", kind: .histogram(buckets: callBuckets),
              help: "Duration of calls to the WeChat API by API, failures included."),
        .init(name: "swiftlet_wechat_call_errors_total", kind: .counter,
              help: "Failed calls to the WeChat API by API and errcode (or transport, timeout, other)."),
        .init(name: "swiftlet_wechatpay_call_duration_seconds", kind: .histogram(buckets: callBuckets),
              help: "Duration of calls to the WeChat Pay API by API, failures included."),
        .init(name: "swiftlet_wechatpay_call_errors_total", kind: .counter,
              help: "Failed calls to the WeChat Pay API by API and error code (or transport, signature, other)."),
        .init(name: "swiftlet_wechatpay_notifications_total", kind: .counter,
              help: "WeChat Pay notifications received, by kind (payment, refund) and outcome (accepted, rejected)."),
        // Guards.
        .init(name: "swiftlet_rate_limit_decisions_total", kind: .counter,
              help: "Rate-limit decisions by policy and decision (allowed, limited, shadow_limited)."),
        .init(name: "swiftlet_requests_shed_total", kind: .counter, help: "Requests shed by the load shedder, by class."),
        .init(name: "swiftlet_concurrency_limit", kind: .gauge, help: "The load shedder's current concurrency limit."),
        .init(name: "swiftlet_concurrency_in_flight", kind: .gauge, help: "Requests the load shedder counts as in flight."),
        .init(name: "swiftlet_breaker_open", kind: .gauge,
              help: "1 while the breaker in front of a dependency refuses calls, else 0."),
        .init(name: "swiftlet_breaker_refusals_total", kind: .counter,
              help: "Calls a dependency's breaker refused without sending them."),
        // Logs and process.
        .init(name: "swiftlet_log_lines_dropped_total", kind: .counter,
              help: "Log lines dropped because the log output could not keep up."),
        .init(name: "process_resident_memory_bytes", kind: .gauge, help: "Resident memory size in bytes."),
        .init(name: "process_cpu_seconds_total", kind: .counter, help: "Total user and system CPU time spent in seconds."),
        .init(name: "process_open_fds", kind: .gauge, help: "Number of open file descriptors."),
        .init(name: "process_max_fds", kind: .gauge, help: "Maximum number of open file descriptors."),
        .init(name: "process_start_time_seconds", kind: .gauge, help: "Start time of the process since the Unix epoch in seconds."),
        .init(name: "swiftlet_build_info", kind: .gauge, help: "1, labelled with the running version."),
    ]
}
