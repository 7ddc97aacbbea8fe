import Foundation

extension SwiftletConfiguration {
    /// Prometheus metrics (docs/operations.md, "Metrics").
    public struct Metrics: Sendable, Equatable {
        public var enabled: Bool = true
        /// A plain listener serving only `GET /metrics`, without a key, for a scraper on the
        /// node's own network: `host:port` (port 0 picks one), nil for none. `/metrics` on
        /// the main listener is always there and wants an admin key. Loaded configuration
        /// defaults to `defaultListen` outside the test profile; a configuration built in
        /// code (tests, embedders) opens no second port unless asked.
        public var listen: Listen?
        public static let defaultListen = Listen(host: "127.0.0.1", port: 9464)
        public init() {}

        public struct Listen: Sendable, Equatable {
            public var host: String
            public var port: Int
            public init(host: String, port: Int) {
                self.host = host
                self.port = port
            }

            public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

            /// `host:port` or `[v6]:port`.
            static func parse(_ raw: String) -> Listen? {
                let host: Substring
                let portText: Substring
                if raw.hasPrefix("[") {
                    guard let close = raw.firstIndex(of: "]"), raw[raw.index(after: close)...].hasPrefix(":") else { return nil }
                    host = raw[raw.index(after: raw.startIndex)..<close]
                    portText = raw[raw.index(close, offsetBy: 2)...]
                } else {
                    guard let colon = raw.lastIndex(of: ":") else { return nil }
                    host = raw[..<colon]
                    portText = raw[raw.index(after: colon)...]
                }
                guard !host.isEmpty, let port = Int(portText), (0...65_535).contains(port) else { return nil }
                return Listen(host: String(host), port: port)
            }
        }
    }

    /// OpenTelemetry traces over OTLP/HTTP (docs/operations.md, "Traces").
    public struct Tracing: Sendable, Equatable {
        public var enabled: Bool = false
        /// The collector's OTLP/HTTP traces URL, used as given (include `/v1/traces`).
        public var endpoint: String = "http://127.0.0.1:4318/v1/traces"
        /// The share of new traces recorded; a caller's `traceparent` decides for its own.
        public var sampleRatio: Double = 0.1
        public var serviceName: String = "swiftlet"
        public init() {}
    }
}

extension ConfigParser {
    mutating func parseTelemetry(_ config: inout SwiftletConfiguration) {
        config.metrics.enabled = boolean("metrics.enabled", default: config.metrics.enabled)
        config.metrics.listen = config.profile == .test ? nil : SwiftletConfiguration.Metrics.defaultListen
        if let raw = lookup("metrics.listen") {
            let trimmed = raw.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed == "off" {
                config.metrics.listen = nil
            } else if let listen = SwiftletConfiguration.Metrics.Listen.parse(trimmed) {
                config.metrics.listen = listen
            } else {
                problems.append(.init(key: "metrics.listen", message: "expected host:port (or off), got \"\(raw)\""))
            }
        }
        config.tracing.enabled = boolean("tracing.enabled", default: config.tracing.enabled)
        if let endpoint = url("tracing.endpoint") { config.tracing.endpoint = endpoint }
        config.tracing.sampleRatio = fraction(
            "tracing.sampleRatio", default: config.profile == .development ? 1 : config.tracing.sampleRatio)
        config.tracing.serviceName = string("tracing.serviceName", default: config.tracing.serviceName)
    }

    mutating func fraction(_ key: String, default value: Double) -> Double {
        guard let raw = lookup(key) else { return value }
        guard let number = Double(raw.trimmingCharacters(in: .whitespaces)), number.isFinite, (0...1).contains(number) else {
            problems.append(.init(key: key, message: "expected a fraction from 0 to 1, got \"\(raw)\""))
            return value
        }
        return number
    }
}
