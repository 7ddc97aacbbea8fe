import SwiftletConfig
import SwiftletCore
import SwiftletHTTP

/// Signed requests from client apps: the keys' service (admin routes, CLI), their cache,
/// and the guard in the seam when `signing.routes` turns signing on anywhere.
struct SigningComposition {
    let service: SigningKeyService
    /// Empty when every route is off: requests then pay nothing for the feature.
    let guards: [RequestSigningGuard]

    init(_ config: SwiftletConfiguration, storage: any StorageEngine, cluster: any ClusterState, clock: SwiftletClock) {
        let cache = SigningKeyCache(keys: storage.signingKeys, clock: clock)
        service = SigningKeyService(keys: storage.signingKeys, clock: clock, overlap: config.signing.secretOverlapSeconds,
                                    onChange: { cache.forget($0) })
        let rules = config.signing.routes.map {
            RequestSigningGuard.Rule(pattern: $0.pattern, requirement: RequestSigningGuard.Requirement(rawValue: $0.requirement.rawValue) ?? .off)
        }
        guards = rules.contains { $0.requirement != .off }
            ? [RequestSigningGuard(rules: rules, window: config.signing.windowSeconds, keys: cache, nonces: cluster, clock: clock)]
            : []
    }
}
