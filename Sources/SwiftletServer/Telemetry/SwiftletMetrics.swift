import CoreMetrics
import Prometheus
import Synchronization

/// The application's metrics: one Prometheus registry per application (tests build many
/// applications in one process and never bootstrap the global `MetricsSystem`), handed to
/// the modules that record as a swift-metrics `MetricsFactory`.
///
/// Values that other parts already count (breakers, the shedder, the pool, the job table)
/// are read when scraped, through `onScrape`, instead of being counted twice.
public final class SwiftletMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let catalogue: [MetricFamily]
    private let families: [String: MetricFamily]
    private let recorded = Mutex<Set<String>>([])
    private let scrapeHooks = Mutex<[@Sendable () async -> Void]>([])
    private let counterTotals = Mutex<[String: Double]>([:])
    private let emitters = Mutex<[@Sendable (inout [UInt8]) -> Void]>([])

    public init(catalogue: [MetricFamily] = MetricCatalogue.families) {
        self.catalogue = catalogue
        self.families = Dictionary(catalogue.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Runs `refresh` before each exposition (keep it short: a scrape waits for it).
    public func onScrape(_ refresh: @escaping @Sendable () async -> Void) {
        scrapeHooks.withLock { $0.append(refresh) }
    }

    /// Families whose series are kept outside the registry (the request counts, sharded by
    /// thread for speed): `emit` writes them whole, `# HELP` and `# TYPE` included.
    public func emitting(_ names: [String], _ emit: @escaping @Sendable (inout [UInt8]) -> Void) {
        recorded.withLock { $0.formUnion(names) }
        emitters.withLock { $0.append(emit) }
    }

    /// The catalogue's description of family `name`.
    public func help(_ name: String) -> String {
        families[name]?.help ?? ""
    }

    /// The Prometheus text exposition (format 0.0.4): every family in the catalogue, with
    /// `# HELP` and `# TYPE` even before it has a series.
    public func exposition() async -> [UInt8] {
        let hooks = scrapeHooks.withLock { $0 }
        for hook in hooks { await hook() }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        for emit in emitters.withLock({ $0 }) { emit(&buffer) }
        let seen = recorded.withLock { $0 }
        for family in catalogue where !seen.contains(family.name) {
            buffer.append(contentsOf: "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) \(family.kind.typeName)\n".utf8)
        }
        return buffer
    }

    // MARK: Series, created the one way their family is declared

    func descriptor(_ name: String) -> MetricNameDescriptor {
        recorded.withLock { _ = $0.insert(name) }
        return MetricNameDescriptor(metricName: name, unitName: "", helpText: families[name]?.help ?? "")
    }

    public func counter(_ name: String, _ labels: [(String, String)] = []) -> Prometheus.Counter {
        registry.makeCounter(descriptor: descriptor(name), labels: labels)
    }

    public func gauge(_ name: String, _ labels: [(String, String)] = []) -> Prometheus.Gauge {
        registry.makeGauge(descriptor: descriptor(name), labels: labels)
    }

    public func secondsHistogram(_ name: String, _ labels: [(String, String)] = []) -> DurationHistogram {
        registry.makeDurationHistogram(
            descriptor: descriptor(name), labels: labels, buckets: buckets(name).map { .nanoseconds(Int64($0 * 1e9)) })
    }

    public func valueHistogram(_ name: String, _ labels: [(String, String)] = []) -> ValueHistogram {
        registry.makeValueHistogram(descriptor: descriptor(name), labels: labels, buckets: buckets(name))
    }

    private func buckets(_ name: String) -> [Double] {
        if case .histogram(let buckets) = families[name]?.kind { return buckets }
        return MetricCatalogue.requestBuckets
    }

    /// Brings a counter up to `total`, a running count kept elsewhere (a breaker's
    /// refusals, the shedder's sheds, CPU seconds): the counter only ever grows by the
    /// difference, so concurrent scrapes never see it go back.
    public func advance(_ name: String, _ labels: [(String, String)] = [], to total: Double) {
        let key = name + labels.map { "\u{1}\($0.0)=\($0.1)" }.joined()
        let delta = counterTotals.withLock { totals -> Double in
            let previous = totals[key] ?? 0
            guard total > previous else { return 0 }
            totals[key] = total
            return total - previous
        }
        let counter = counter(name, labels)
        if delta > 0 { counter.increment(by: delta) }
    }

    public func advance(_ name: String, _ labels: [(String, String)] = [], to total: Int) {
        advance(name, labels, to: Double(total))
    }
}

/// The swift-metrics face of the registry, for modules that record without knowing
/// Prometheus: `Counter(label:dimensions:factory:)` and friends land here.
extension SwiftletMetrics: MetricsFactory {
    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        counter(label, dimensions)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        counter(label, dimensions)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        aggregate ? valueHistogram(label, dimensions) : gauge(label, dimensions)
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        gauge(label, dimensions)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        secondsHistogram(label, dimensions)
    }

    public func destroyCounter(_ handler: any CounterHandler) {}
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    public func destroyRecorder(_ handler: any RecorderHandler) {}
    public func destroyMeter(_ handler: any MeterHandler) {}
    public func destroyTimer(_ handler: any TimerHandler) {}
}
