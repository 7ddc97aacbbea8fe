/// How many requests a server should work on at once, learnt from their latency (the
/// Gradient2 idea of Netflix's concurrency-limits): while latency stays near its long-run
/// level the limit grows by a small queue allowance; when latency rises above it — work is
/// queueing somewhere, the node is past its capacity — the limit shrinks in proportion.
/// No fixed number to tune per machine, and it recovers by itself when latency falls.
///
/// Per window of completed requests (see `record`):
///
///     short = the window's average rtt     long = EMA(short, 100 windows)
///     if long > 2 × short: long ×= 0.95   (latency fell for good: forget the old level faster)
///     if inflight < limit / 2: keep the limit (the load, not the server, is the bottleneck)
///     gradient = clamp(tolerance × long / short, 0.5, 1)
///     limit ← (1 − w) × limit + w × (limit × gradient + queue)   (w = smoothing up, ≥ ½ down)
///
/// clamped to `minimum…maximum`. A pure value: callers hold it behind their own lock.
public struct AdaptiveConcurrencyLimit: Sendable {
    public struct Configuration: Sendable, Equatable {
        public var initial: Double
        public var minimum: Double
        public var maximum: Double
        /// How far latency may rise above its long-run level before the limit shrinks.
        public var tolerance: Double
        /// How much of each new estimate is taken.
        public var smoothing: Double
        /// The allowance added while latency is steady: how fast the limit grows.
        public var queue: Double

        public init(initial: Double = 64, minimum: Double = 8, maximum: Double = 1024, tolerance: Double = 1.5,
                    smoothing: Double = 0.2, queue: Double = 4) {
            self.initial = initial
            self.minimum = minimum
            self.maximum = maximum
            self.tolerance = tolerance
            self.smoothing = smoothing
            self.queue = queue
        }
    }

    public let configuration: Configuration
    public private(set) var limit: Double
    /// Window averages over about 100 windows: the latency the server has when it keeps up.
    private var long = ExponentialAverage(window: 100)
    private var windowSum = 0.0
    private var windowCount = 0
    private var windowInflight = 0

    public init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.limit = min(max(configuration.initial, configuration.minimum), configuration.maximum)
    }

    /// Learns from one completed request that took `rttNanoseconds` while `inflight`
    /// requests were under way. The limit moves once per window of about half the limit's
    /// worth of samples (at least 10), on the window's average: one change per round of
    /// work, not per request, so it neither chases noise nor outruns its own effect.
    public mutating func record(rttNanoseconds: Int64, inflight: Int) {
        windowSum += Double(max(1, rttNanoseconds))
        windowCount += 1
        windowInflight = max(windowInflight, inflight)
        guard Double(windowCount) >= max(10, limit / 2) else { return }
        let shortRTT = windowSum / Double(windowCount)
        let busiest = windowInflight
        windowSum = 0
        windowCount = 0
        windowInflight = 0
        var longRTT = long.add(shortRTT)
        if longRTT > 2 * shortRTT {
            longRTT *= 0.95
            long.value = longRTT
        }
        guard Double(busiest) >= limit / 2 else { return }
        let gradient = min(1, max(0.5, configuration.tolerance * longRTT / shortRTT))
        let estimate = limit * gradient + configuration.queue
        // Down faster than up: an overload costs every request while it lasts.
        let weight = estimate < limit ? max(configuration.smoothing, 0.5) : configuration.smoothing
        limit = min(configuration.maximum, max(configuration.minimum, (1 - weight) * limit + weight * estimate))
    }
}

/// An exponential moving average over about `window` samples, starting at the first.
/// It never averages plainly over its first samples: a long average that did would catch
/// up with an overload within a few hundred samples and stop seeing it as one.
struct ExponentialAverage: Sendable {
    let window: Int
    var started = false
    var value = 0.0

    mutating func add(_ sample: Double) -> Double {
        if started {
            value += (sample - value) * 2 / Double(window + 1)
        } else {
            started = true
            value = sample
        }
        return value
    }
}
