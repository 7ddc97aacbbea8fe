import Foundation
import Logging
import SwiftletConfig
import SwiftletCore
import SwiftletResilience

/// The rate-limit guard from `rateLimits.*`: shared through Redis when the cluster state
/// is shared, in process otherwise. Nil when limits are off or no policy is configured.
enum RateLimitComposition {
    static func guardFor(
        _ config: SwiftletConfiguration, cluster: any ClusterState, tokens: any AccessTokenCodec, clock: SwiftletClock,
        logger: Logger
    ) -> RateLimitGuard? {
        let limits = config.rateLimits
        guard limits.enabled, !limits.policies.isEmpty else { return nil }
        let policies = limits.policies.compactMap { policy -> RateLimitPolicy? in
            guard let key = RateLimitPolicy.Key(rawValue: policy.key),
                  let gcra = try? GCRAPolicy(rate: policy.rate, period: .milliseconds(Int64(policy.period * 1000)), burst: policy.burst)
            else { return nil }
            return RateLimitPolicy(name: policy.name, routes: Set(policy.routes), key: key, gcra: gcra, shadow: policy.shadow ?? false)
        }
        return RateLimitGuard(
            policies: policies, shared: cluster.isShared ? cluster as? any SharedRateLimiter : nil, nodes: config.cluster.nodes,
            clientAddress: ClientAddress(trustedProxies: limits.trustedProxies),
            userID: { token in try? await tokens.verify(token, now: clock.now).userID.rawValue },
            logger: logger)
    }
}
