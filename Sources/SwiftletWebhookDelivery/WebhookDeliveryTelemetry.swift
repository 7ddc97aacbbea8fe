import CoreMetrics
import Instrumentation
import SwiftletCore
import Tracing

/// What the delivery worker tells operators about each attempt: attempts by endpoint and
/// outcome, dead letters by endpoint, and a CLIENT span `webhook deliver` whose context
/// the request carries as `traceparent`, so a receiver can join its trace.
///
/// Attempts run in the background, so their spans start traces of their own rather than
/// hanging under whichever request stored the event.
public struct WebhookDeliveryTelemetry: Sendable {
    let factory: (any MetricsFactory)?
    let traces: Bool

    public init(factory: (any MetricsFactory)?, traces: Bool) {
        self.factory = factory
        self.traces = traces
    }

    public static let off = WebhookDeliveryTelemetry(factory: nil, traces: false)

    /// Runs one attempt; `send` gets the propagation headers to add.
    func deliver(
        endpoint: String, event: String, _ send: @Sendable ([(name: String, value: String)]) async -> WebhookAnswer
    ) async -> WebhookAnswer {
        guard traces else { return await send([]) }
        return await withSpan("webhook deliver", context: .topLevel, ofKind: .client) { span in
            span.attributes["swiftlet.webhook.endpoint"] = endpoint
            span.attributes["swiftlet.event.type"] = event
            var carrier: [(name: String, value: String)] = []
            InstrumentationSystem.instrument.inject(span.context, into: &carrier, using: NamedPairsInjector())
            let answer = await send(carrier)
            if case .response(let status, _, _) = answer {
                span.attributes["http.response.status_code"] = status
                if status >= 400 { span.setStatus(SpanStatus(code: .error)) }
            } else {
                span.setStatus(SpanStatus(code: .error))
            }
            return answer
        }
    }

    /// Counts a decided attempt.
    func record(endpoint: String, answer: WebhookAnswer, outcome: WebhookMessageOutcome) {
        guard let factory else { return }
        let label: String
        switch (answer, outcome) {
        case (.refused, _): label = "refused"
        case (_, .delivered): label = "delivered"
        default: label = "failed"
        }
        Counter(label: "swiftlet_webhook_attempts_total", dimensions: [("endpoint", endpoint), ("outcome", label)], factory: factory)
            .increment()
        if case .dead = outcome {
            Counter(label: "swiftlet_webhook_dead_letters_total", dimensions: [("endpoint", endpoint)], factory: factory).increment()
        }
    }
}

struct NamedPairsInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [(name: String, value: String)]) {
        carrier.append((key, value))
    }
}
