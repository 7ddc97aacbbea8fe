import AsyncHTTPClient
import Logging
import OTel
import ServiceLifecycle
import SwiftletConfig
import SwiftletCore
import SwiftletTransport
import Tracing

/// The process's tracer: OpenTelemetry over OTLP/HTTP (protobuf), traces only — logs and
/// metrics stay Swiftlet's own. Bootstrapped once per process by `swiftlet serve`
/// (tests never bootstrap; an embedder may install any tracer of its own).
///
/// Spans leave through swift-otel's batch processor: a request only appends its span to
/// a bounded in-memory queue, so a collector that is slow, hanging or gone never slows
/// or fails a request (full queue: spans are dropped), and shutdown flushes what is left.
public enum SwiftletTracing {
    /// Installs the tracer when `tracing.enabled`; returns the exporter's service, to run
    /// (and stop after the server, so the last spans are flushed).
    public static func bootstrap(_ config: SwiftletConfiguration) throws -> (any Service)? {
        guard config.tracing.enabled else { return nil }
        let (tracer, service) = try OTel.makeTracingBackend(configuration: configuration(config.tracing))
        // AsyncHTTPClient traces every request with the tracer installed when its client
        // was configured, recording the full URL — for WeChat that includes the app secret
        // and the login code. The WeChat and WeChat Pay clients make their own spans
        // (without them), so the shared client is created before the tracer is installed.
        _ = HTTPClient.shared
        InstrumentationSystem.bootstrap(tracer)
        return service
    }

    static func configuration(_ tracing: SwiftletConfiguration.Tracing) -> OTel.Configuration {
        var configuration = OTel.Configuration.default
        configuration.serviceName = tracing.serviceName
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        configuration.traces.otlpExporter.endpoint = tracing.endpoint
        // Bounded so shutdown's final flush ends well within a SIGTERM grace period even
        // when the collector is gone.
        configuration.traces.otlpExporter.timeout = .seconds(1)
        configuration.traces.batchSpanProcessor.exportTimeout = .seconds(2)
        // Requests are sampled before their span exists (`RequestTracing`): an unsampled one
        // runs under a parent marked "not sampled", which this parent-based sampler
        // follows for every span beneath it. Roots that remain are the background's (job
        // runs, webhook attempts): few, and each one traced.
        configuration.traces.sampler = .parentBasedAlwaysOn
        return configuration
    }

    /// Adds `trace_id` and `span_id` to every log line written inside a sampled span.
    public static let loggingMetadataProvider: Logger.MetadataProvider = {
        let otel = OTel.makeLoggingMetadataProvider()
        return Logger.MetadataProvider {
            // Most requests are not sampled: answered by one task-local read, without the
            // ids formatted as text only to be thrown away.
            if UnsampledTrace.isCurrent { return [:] }
            let metadata = otel.get()
            guard case .string(let id)? = metadata["trace_id"], id != RequestTracing.unsampledTraceID else { return [:] }
            return metadata
        }
    }()

    /// The current request's trace id, for the access log (nil when not sampled).
    static let currentTraceID: @Sendable () -> String? = {
        // Most requests run in no span at all (the inline lane, unsampled ones): one
        // task-local read answers them without building a metadata dictionary.
        guard let context = ServiceContext.current, !UnsampledTrace.isMarked(context) else { return nil }
        guard case .string(let id)? = loggingMetadataProvider.get()["trace_id"] else { return nil }
        return id
    }
}
