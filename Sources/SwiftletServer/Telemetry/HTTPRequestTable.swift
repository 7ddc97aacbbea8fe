import Synchronization
import SwiftletTransport

/// The request counts behind `http_server_request_duration_seconds` and
/// `http_server_active_requests`, kept in shards that threads record into without
/// meeting each other.
///
/// Every request passes here twice, on whichever event loop or pool thread serves it. One
/// shared lock or atomic per update makes the cores pass its cache line back and forth on
/// each request; that, not the arithmetic, was most of what metrics cost per request. A
/// thread records into its own shard (an uncontended lock that stays in its core's
/// cache), and a scrape adds the shards up.
final class HTTPRequestTable: Sendable {
    /// The standard methods as labels; any other method is `_OTHER` (the last index).
    static let methodLabels = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "_OTHER"]

    struct SeriesKey: Hashable, Comparable {
        let route: String
        let method: UInt8
        let status: UInt16

        static func < (lhs: SeriesKey, rhs: SeriesKey) -> Bool {
            (lhs.route, lhs.method, lhs.status) < (rhs.route, rhs.method, rhs.status)
        }
    }

    /// One series' histogram: counts per bucket (not cumulative; the exposition adds them
    /// up), the sum of durations and the number of requests.
    struct Counts {
        var buckets: [Int]
        var sumNanoseconds: Int64 = 0
        var count = 0

        init(bucketCount: Int) {
            buckets = Array(repeating: 0, count: bucketCount)
        }

        mutating func add(_ other: Counts) {
            for index in buckets.indices { buckets[index] += other.buckets[index] }
            sumNanoseconds += other.sumNanoseconds
            count += other.count
        }
    }

    struct ShardState {
        var series: [SeriesKey: Counts] = [:]
        var active = Array(repeating: 0, count: HTTPRequestTable.methodLabels.count)
    }

    /// One thread's part of the table, on cache lines of its own (`PaddedShard`).
    typealias Shard = PaddedShard<Mutex<ShardState>>

    private static let shardCount = 16
    private let shards: [Shard]
    /// Upper bounds of the buckets, in nanoseconds, ascending.
    private let boundsNanoseconds: [Int64]
    private let boundLabels: [String]
    private let scheme: String

    init(bucketSeconds: [Double], scheme: String) {
        shards = (0..<Self.shardCount).map { _ in Shard(Mutex(ShardState())) }
        boundsNanoseconds = bucketSeconds.map { Int64(($0 * 1e9).rounded()) }
        boundLabels = bucketSeconds.map { "\($0)" }
        self.scheme = scheme
    }

    /// The label index of `method`'s raw value.
    static func methodIndex(_ method: String) -> Int {
        switch method {
        case "GET": 0
        case "HEAD": 1
        case "POST": 2
        case "PUT": 3
        case "DELETE": 4
        case "CONNECT": 5
        case "OPTIONS": 6
        case "TRACE": 7
        case "PATCH": 8
        default: 9
        }
    }

    private var shard: Shard { shards[ThreadShard.index(modulo: Self.shardCount)] }

    func begin(method: Int) {
        shard.value.withLock { $0.active[method] += 1 }
    }

    func end(method: Int, route: String, status: Int, nanoseconds: Int64) {
        let key = SeriesKey(route: route, method: UInt8(method), status: UInt16(clamping: status))
        var bucket = 0
        while bucket < boundsNanoseconds.count, boundsNanoseconds[bucket] < nanoseconds { bucket += 1 }
        let bucketCount = boundsNanoseconds.count
        shard.value.withLock { state in
            state.active[method] -= 1
            state.series[key, default: Counts(bucketCount: bucketCount)].record(bucket: bucket, nanoseconds: nanoseconds)
        }
    }

    /// Both families in the text exposition format, the shards added up.
    func emit(into buffer: inout [UInt8], durationHelp: String, activeHelp: String) {
        var series: [SeriesKey: Counts] = [:]
        var active = Array(repeating: 0, count: Self.methodLabels.count)
        for shard in shards {
            let state = shard.value.withLock { $0 }
            for (key, counts) in state.series {
                series[key, default: Counts(bucketCount: boundsNanoseconds.count)].add(counts)
            }
            for index in active.indices { active[index] += state.active[index] }
        }

        let duration = "http_server_request_duration_seconds"
        buffer.append(contentsOf: "# HELP \(duration) \(durationHelp)\n# TYPE \(duration) histogram\n".utf8)
        for (key, counts) in series.sorted(by: { $0.key < $1.key }) {
            let status = Int(key.status)
            let labels = Self.labels([
                ("http_request_method", Self.methodLabels[Int(key.method)]), ("http_route", key.route),
                ("http_response_status_code", String(status)), ("error_type", status >= 500 ? String(status) : ""),
                ("url_scheme", scheme),
            ])
            var cumulative = 0
            for (index, label) in boundLabels.enumerated() {
                cumulative += counts.buckets[index]
                buffer.append(contentsOf: "\(duration)_bucket{\(labels),le=\"\(label)\"} \(cumulative)\n".utf8)
            }
            buffer.append(contentsOf: "\(duration)_bucket{\(labels),le=\"+Inf\"} \(counts.count)\n".utf8)
            buffer.append(contentsOf: "\(duration)_sum{\(labels)} \(Double(counts.sumNanoseconds) / 1e9)\n".utf8)
            buffer.append(contentsOf: "\(duration)_count{\(labels)} \(counts.count)\n".utf8)
        }

        let activeName = "http_server_active_requests"
        buffer.append(contentsOf: "# HELP \(activeName) \(activeHelp)\n# TYPE \(activeName) gauge\n".utf8)
        for (index, method) in Self.methodLabels.enumerated() {
            let labels = Self.labels([("http_request_method", method), ("url_scheme", scheme)])
            buffer.append(contentsOf: "\(activeName){\(labels)} \(active[index])\n".utf8)
        }
    }

    /// `name="value",…` with the value escaped as the exposition format requires.
    static func labels(_ pairs: [(String, String)]) -> String {
        pairs.map { name, value in
            var escaped = ""
            for character in value {
                switch character {
                case "\\": escaped += "\\\\"
                case "\"": escaped += "\\\""
                case "\n": escaped += "\\n"
                default: escaped.append(character)
                }
            }
            return "\(name)=\"\(escaped)\""
        }.joined(separator: ",")
    }
}

extension HTTPRequestTable.Counts {
    mutating func record(bucket: Int, nanoseconds: Int64) {
        if bucket < buckets.count { buckets[bucket] += 1 }
        sumNanoseconds &+= nanoseconds
        count += 1
    }
}
