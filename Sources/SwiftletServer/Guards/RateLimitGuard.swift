import Foundation
import Logging
import NIOCore
import SwiftletCore
import SwiftletResilience
import SwiftletTransport
import Synchronization

/// Rate limits by route × key through the one seam, with the GCRA algorithm: in process
/// on one node, in Redis (one script, Redis's clock) on several.
///
/// Where it decides: limits by client address on one node are decided in `begin`, on the
/// event loop, so a limited route keeps the inline lane. Limits that need to suspend — the
/// shared store, the verified user of a token, the verified signing key (checked by the
/// signing guard before this one) — are decided in `admit`, and their routes leave the lane.
///
/// A limited request gets 429 `rate_limited` with `Retry-After`, `RateLimit-Policy` and
/// `RateLimit`. In shadow mode the decision is counted and logged, never enforced. When
/// the shared store fails, each node limits alone at the rate divided by the node count,
/// says so in the log once per outage, and counts those decisions: never open silently.
public final class RateLimitGuard: RequestGuard {
    /// Counters for operators and metrics.
    public struct Counts: Sendable, Equatable {
        public var admitted = 0
        public var refused = 0
        public var shadowRefusals = 0
        /// Decisions taken by a node alone while the shared store was unreachable.
        public var fallbackDecisions = 0
        /// The same decisions by policy name and decision (`allowed`, `limited`,
        /// `shadow_limited`): the policies are configured, so the keys are bounded.
        public var byPolicy: [PolicyDecision: Int] = [:]
    }

    public struct PolicyDecision: Sendable, Hashable {
        public let policy: String
        public let decision: String
    }

    let policies: [String: [RateLimitPolicy]]
    /// Templates some policy names (any method), and those decided in `admit`: computed
    /// once, so a request to any other route costs one set lookup.
    let limitedRoutes: Set<String>
    let admittedRoutes: Set<String>
    let local = LocalRateLimiter()
    let shared: (any SharedRateLimiter)?
    let nodes: Int
    let clientAddress: ClientAddress
    let userID: @Sendable (String) async -> String?
    let now: @Sendable () -> ResilienceInstant
    let logger: Logger
    private let state = Mutex<(counts: Counts, storeDown: Bool)>((Counts(), false))

    /// - Parameters:
    ///   - userID: the user id of a bearer access token, nil when it does not verify.
    ///   - now: the instant local limits decide at (tests move it by hand).
    public init(policies: [RateLimitPolicy], shared: (any SharedRateLimiter)?, nodes: Int, clientAddress: ClientAddress,
                userID: @escaping @Sendable (String) async -> String?,
                now: @escaping @Sendable () -> ResilienceInstant = { .now }, logger: Logger) {
        var byRoute: [String: [RateLimitPolicy]] = [:]
        for policy in policies {
            for route in policy.routes { byRoute[route, default: []].append(policy) }
        }
        self.policies = byRoute
        let templates = policies.flatMap { policy in policy.routes.compactMap { $0.split(separator: " ", maxSplits: 1).last.map(String.init) } }
        self.limitedRoutes = Set(templates)
        self.admittedRoutes = Set(policies.flatMap { policy in
            shared != nil || policy.key != .ip
                ? policy.routes.compactMap { $0.split(separator: " ", maxSplits: 1).last.map(String.init) } : []
        })
        self.shared = shared
        self.nodes = max(1, nodes)
        self.clientAddress = clientAddress
        self.userID = userID
        self.now = now
        self.logger = logger
    }

    public var counts: Counts { state.withLock { $0.counts } }

    func policies(_ method: String, _ route: String) -> [RateLimitPolicy] {
        policies[method + " " + route] ?? []
    }

    /// Whether any policy on `route` (any method) must be decided in `admit`.
    public func admits(route: String) -> Bool {
        admittedRoutes.contains(route)
    }

    public func begin(_ request: RequestStart) -> SwiftletError? {
        guard limitedRoutes.contains(request.route), !admittedRoutes.contains(request.route) else { return nil }
        for policy in policies(request.method.rawValue, request.route) {
            guard let key = clientAddress.resolve(request) else { continue }
            if let refusal = enforce(policy, decideLocally(policy, policy.gcra, key)) { return refusal }
        }
        return nil
    }

    public func admit(_ request: RequestStart, body: ByteBuffer?) async -> SwiftletError? {
        for policy in policies(request.method.rawValue, request.route) {
            guard let key = await key(policy, request) else { continue }
            let decision = await decide(policy, key)
            if let refusal = enforce(policy, decision) { return refusal }
        }
        return nil
    }

    public func end(_ request: RequestStart, _ outcome: RequestOutcome) {}

    func key(_ policy: RateLimitPolicy, _ request: RequestStart) async -> String? {
        switch policy.key {
        case .ip:
            return clientAddress.resolve(request)
        case .user:
            guard let header = request.headers.first("Authorization"), header.lowercased().hasPrefix("bearer ") else { return nil }
            return await userID(String(header.dropFirst(7)))
        case .signingKey:
            // Reached only once the signing guard (before this one) verified the request.
            return request.headers.first(RequestSignature.keyHeader)
        }
    }

    func decideLocally(_ policy: RateLimitPolicy, _ gcra: GCRAPolicy, _ key: String) -> (RateLimitDecision, GCRAPolicy) {
        (local.check("\(policy.name)|\(key)", policy: gcra, now: now()), gcra)
    }

    func decide(_ policy: RateLimitPolicy, _ key: String) async -> (RateLimitDecision, GCRAPolicy) {
        guard let shared else { return decideLocally(policy, policy.gcra, key) }
        do {
            let outcome = try await shared.decideRateLimit(
                key: "ratelimit:\(policy.name):\(key)", interval: Self.microseconds(policy.gcra.emissionIntervalNanoseconds),
                capacity: Self.microseconds(policy.gcra.capacityNanoseconds), cost: 1)
            storeAnswered()
            return (RateLimitDecision(
                isAllowed: outcome.isAllowed, tat: nil, remaining: outcome.remaining,
                retryAfter: outcome.retryAfterMicroseconds.map { .microseconds($0) },
                resetAfter: .microseconds(outcome.resetAfterMicroseconds), limit: policy.gcra.limit), policy.gcra)
        } catch {
            storeFailed(error)
            return decideLocally(policy, policy.perNode(of: nodes), key)
        }
    }

    /// Nil to let the request through; the 429 otherwise.
    func enforce(_ policy: RateLimitPolicy, _ result: (RateLimitDecision, GCRAPolicy)) -> SwiftletError? {
        let (decision, gcra) = result
        let enforced = !decision.isAllowed && !policy.shadow
        state.withLock { state in
            let label: String
            if decision.isAllowed {
                state.counts.admitted += 1
                label = "allowed"
            } else if policy.shadow {
                state.counts.shadowRefusals += 1
                label = "shadow_limited"
            } else {
                state.counts.refused += 1
                label = "limited"
            }
            state.counts.byPolicy[PolicyDecision(policy: policy.name, decision: label), default: 0] += 1
        }
        if !decision.isAllowed, policy.shadow {
            logger.notice("rate limit exceeded (shadow: not enforced)", metadata: ["policy": .string(policy.name)])
        }
        guard enforced else { return nil }
        let headers = RateLimitHeaders(name: policy.name, policy: gcra, decision: decision)
        let retryAfter = headers.retryAfter.flatMap(Int.init)
        return SwiftletError(
            .rateLimited, code: "rate_limited",
            message: retryAfter.map { "Too many requests; retry after \($0) s." } ?? "This request is larger than the limit allows.",
            retryAfterSeconds: retryAfter,
            headers: [RateLimitHeaders.policyFieldName: headers.policy, RateLimitHeaders.rateLimitFieldName: headers.rateLimit])
    }

    func storeFailed(_ error: any Error) {
        let first = state.withLock { state in
            state.counts.fallbackDecisions += 1
            defer { state.storeDown = true }
            return !state.storeDown
        }
        if first {
            logger.warning("rate limits: the shared store is unreachable; each node limits alone at its share of each rate",
                           metadata: ["error": .string(ErrorLog.describe(error)), "nodes": .stringConvertible(nodes)])
        }
    }

    func storeAnswered() {
        let recovered = state.withLock { state in
            defer { state.storeDown = false }
            return state.storeDown
        }
        if recovered {
            logger.notice("rate limits: the shared store answers again; limits hold across nodes")
        }
    }

    static func microseconds(_ nanoseconds: Int64) -> Int64 {
        max(1, (nanoseconds + 999) / 1000)
    }
}
