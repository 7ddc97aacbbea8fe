import Foundation

extension SwiftletConfiguration {
    /// Rate limits by route × key (docs/security.md, "Rate limits").
    public struct RateLimits: Sendable, Equatable {
        /// Off outside production unless set: development loops and load tests are not
        /// throttled by surprise. Production starts with `defaultPolicies`.
        public var enabled: Bool = false
        public var policies: [Policy] = RateLimits.defaultPolicies
        /// Proxies (addresses or CIDRs) whose `X-Forwarded-For` is believed for per-IP limits.
        public var trustedProxies: [String] = []
        public init() {}

        public struct Policy: Sendable, Equatable, Codable {
            public var name: String
            /// `"METHOD /route/template"` entries.
            public var routes: [String]
            /// `ip`, `user` or `signingKey`.
            public var key: String
            /// Requests admitted per `period` seconds in the steady state.
            public var rate: Int
            public var period: Double
            /// Requests admitted at once beyond the first.
            public var burst: Int
            /// Count and log, never refuse.
            public var shadow: Bool?

            public init(name: String, routes: [String], key: String, rate: Int, period: Double, burst: Int, shadow: Bool? = nil) {
                self.name = name
                self.routes = routes
                self.key = key
                self.rate = rate
                self.period = period
                self.burst = burst
                self.shadow = shadow
            }
        }

        /// Login and refresh per client address, order creation and direct messages per user.
        public static let defaultPolicies: [Policy] = [
            Policy(name: "auth", routes: ["POST /api/v1/auth/wechat/login", "POST /api/v1/auth/refresh"], key: "ip",
                   rate: 30, period: 60, burst: 10),
            Policy(name: "orders", routes: ["POST /api/v1/orders"], key: "user", rate: 30, period: 60, burst: 10),
            Policy(name: "messages", routes: ["POST /api/v1/messages"], key: "user", rate: 60, period: 60, burst: 20),
        ]

        struct PolicyProblem: Error {
            let message: String
        }

        /// Parses `rateLimits.policies` (a JSON array of policies), or says what is wrong.
        static func parsePolicies(_ raw: String) -> Result<[Policy], PolicyProblem> {
            guard let policies = try? JSONDecoder().decode([Policy].self, from: Data(raw.utf8)) else {
                return .failure(PolicyProblem(message: "expected a JSON array of {\"name\",\"routes\",\"key\",\"rate\",\"period\",\"burst\",\"shadow\"?}"))
            }
            for policy in policies {
                guard !policy.name.isEmpty, policy.name.utf8.count <= 64 else { return .failure(PolicyProblem(message: "a policy name is 1 to 64 bytes")) }
                guard ["ip", "user", "signingKey"].contains(policy.key) else {
                    return .failure(PolicyProblem(message: "\(policy.name): key must be ip, user or signingKey"))
                }
                guard policy.rate > 0, policy.period > 0, policy.period <= 86_400, policy.burst >= 0 else {
                    return .failure(PolicyProblem(message: "\(policy.name): rate > 0, 0 < period ≤ 86400 seconds, burst ≥ 0"))
                }
                guard !policy.routes.isEmpty, policy.routes.allSatisfy({ route in
                    let parts = route.split(separator: " ")
                    return parts.count == 2 && parts[0].allSatisfy(\.isUppercase) && parts[1].hasPrefix("/")
                }) else {
                    return .failure(PolicyProblem(message: "\(policy.name): routes are \"METHOD /route/template\" entries"))
                }
            }
            return .success(policies)
        }
    }

    /// Adaptive load shedding at ingress (docs/operations.md, "Load shedding").
    public struct Shedding: Sendable, Equatable {
        /// Off outside production unless set, like rate limits.
        public var enabled: Bool = false
        /// Bounds of the learnt concurrency limit.
        public var minLimit: Int = 8
        public var maxLimit: Int = 1024
        public init() {}
    }

    /// The migration aid: a legacy backend behind this one (docs/operations.md, "Moving from a legacy backend").
    public struct Proxy: Sendable, Equatable {
        /// Where requests to routes Swiftlet does not serve go; nil: nowhere (404).
        public var legacyUpstream: String?
        public var timeoutSeconds: Double = 30
        public var maxResponseBytes: Int = 16 << 20
        /// `"METHOD /template"` routes both serve, whose requests may go to the legacy backend.
        public var canaryRoutes: [String] = []
        /// The share of clients (0–100) whose requests to canary routes go to the legacy backend.
        public var canaryPercent: Int = 0
        public init() {}
    }
}
