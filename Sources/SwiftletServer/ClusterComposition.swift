import Logging
import NIOCore
import ServiceLifecycle
import SwiftletClusterRedis
import SwiftletConfig
import SwiftletCore
import SwiftletRedis

/// Picks what the nodes of this deployment share (`ClusterState`).
enum ClusterComposition {
    /// The cluster state this application uses: the one an embedder or a test injected
    /// (`SwiftletCustomization.clusterState`), else Redis when `redis.url` is set, else
    /// the in-process one, which keeps a single node zero-setup.
    static func clusterState(
        _ config: SwiftletConfiguration, customization: SwiftletCustomization, logger: Logger
    ) async throws -> any ClusterState {
        if let injected = customization.clusterState {
            return injected
        }
        if let url = config.redis.url {
            var redis = try RedisConfiguration(url: url)
            redis.poolSize = config.redis.poolSize
            redis.connectTimeout = .milliseconds(Int64(config.redis.connectTimeoutSeconds * 1000))
            redis.commandTimeout = .milliseconds(Int64(config.redis.commandTimeoutSeconds * 1000))
            redis.poolWaitTimeout = redis.commandTimeout
            redis.tlsCAFile = config.redis.tlsCAFile
            logger.notice("cluster state on Redis", metadata: ["redis": .string(config.redis.redactedURL ?? "")])
            if !redis.useTLS, let shape = try? RedisURLShape(parsing: url), !shape.isLoopbackHost {
                logger.warning("Redis is reached without TLS: the WeChat access_token and revocations cross the network in clear (use rediss://)")
            }
            return RedisClusterState(client: try RedisClient(configuration: redis))
        }
        return InProcessClusterState(clock: customization.clock)
    }

    /// What must run with the application for this cluster state: closing the Redis
    /// client's connections at shutdown.
    static func lifecycleServices(_ cluster: any ClusterState) -> [any Service] {
        guard let redis = cluster as? RedisClusterState else { return [] }
        return [RedisClientService(client: redis.client)]
    }
}

/// Runs what keeps this node in step with the others over the cluster state: the
/// revocation feed and the cache feeds (user rows, catalogue). Stops at shutdown; registered before the
/// HTTP server and after storage, so it stops after requests drained and before the
/// database it polls is closed.
struct ClusterFeedService: Service {
    let revocations: RevocationFeed
    /// Each per-node cache with the feed that keeps it in step.
    let caches: [(feed: ClusterCacheFeed, cache: any ClusterInvalidatedCache)]

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await revocations.run() }
                for (feed, cache) in caches {
                    group.addTask { await feed.run(applyingTo: cache) }
                }
            }
        }
    }
}

/// Closes the Redis client's pooled connections once the application stops.
struct RedisClientService: Service {
    let client: RedisClient

    func run() async throws {
        try? await gracefulShutdown()
        await client.shutdown()
    }
}
