import Logging
import ServiceLifecycle
import SwiftletConfig
import SwiftletCore

/// Picks what the nodes of this deployment share (`ClusterState`).
enum ClusterComposition {
    /// The cluster state this application uses: the one an embedder or a test injected
    /// (`SwiftletCustomization.clusterState`), else the in-process one, which keeps a
    /// single node zero-setup.
    static func clusterState(
        _ config: SwiftletConfiguration, customization: SwiftletCustomization, logger: Logger
    ) async throws -> any ClusterState {
        if let injected = customization.clusterState {
            return injected
        }
        return InProcessClusterState(clock: customization.clock)
    }
}

/// Runs what keeps this node in step with the others over the cluster state: the
/// revocation feed and the user-cache feed. Stops at shutdown; registered before the
/// HTTP server and after storage, so it stops after requests drained and before the
/// database it polls is closed.
struct ClusterFeedService: Service {
    let revocations: RevocationFeed
    let users: UserCacheFeed
    let cache: CachedUserRepository

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await revocations.run() }
                group.addTask { await users.run(applyingTo: cache) }
            }
        }
    }
}
