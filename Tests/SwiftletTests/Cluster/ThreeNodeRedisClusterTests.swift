import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwiftletRedis
import Synchronization
import Testing

/// Three real `swiftlet serve` processes (`ClusterHarness`) sharing their state through a
/// Redis the test owns (`SWIFTLET_REDIS_URL`, `SWIFTLET_CLUSTER_NODES=3`), which a test
/// kills and restarts on the same port while the cluster serves.
///
/// Requests go to one node's own port when the test is about which node answers, and
/// through nginx when it is about the service as clients see it.
@Suite("Three-node cluster over Redis", .serialized,
       .enabled(if: ClusterHarness.enabled && TestRedisServer.isAvailable))
struct ThreeNodeRedisClusterTests {
    static let revocationsChannel = "swiftlet:revocations"
    static let usersChannel = "swiftlet:users"

    @Test("logout on node B: the token is refused on A and C within 1 s, inline (/me) and routed (/auth/sessions)")
    func logoutReachesEveryNode() async throws {
        try await Self.withCluster { cluster, _ in
            let (a, b, c) = (Self.node(cluster, 1), Self.node(cluster, 2), Self.node(cluster, 3))
            let token = try await ThreeNodeClusterTests.login(a, code: "logout-everywhere:1")
            try await Self.cacheOnInlineLane(token, on: [a, c], cluster)

            let start = ContinuousClock.now
            let logout = try await b.call(.POST, "/api/v1/auth/logout", token: token)
            #expect(logout.status == 204, "logout on B: \(logout.status) \(logout.body)")
            let latencies = try await Self.refusalLatencies(of: token, on: [(1, a), (3, c)], since: start, cluster)
            print("logout on node 2 → refused: \(Self.describe(latencies))")
            for latency in latencies {
                #expect(latency.elapsed.map { $0 < .seconds(1) } == true,
                        "\(latency.what) refused \(Self.describe(latency.elapsed)) after the logout on B (bound 1 s)\n\(cluster.output)")
            }
        }
    }

    @Test("3 nodes × 50 concurrent phone bindings with a cold access_token cache: one stable_token call at WeChat")
    func oneAccessTokenFetchAcrossTheCluster() async throws {
        try await Self.withCluster { cluster, redis in
            let nodes = (1...3).map { Self.node(cluster, $0) }
            // Every node talks to node 1's WeChat: each node has a sandbox of its own mounted
            // too, and those must see nothing.
            for node in nodes {
                let stats = try await Self.stableTokenStats(node)
                #expect(stats.calls == 0 && stats.forced == 0, "cold: no stable_token call yet on port \(node.port): \(stats)")
            }
            #expect(try await Self.redisValue(redis, "swiftlet:wechat:access_token") == nil, "no shared token yet")

            // Ten users per node, each binding five phone numbers (one code per request).
            let usersPerNode = 10, bindingsPerUser = 5
            let users = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for (index, node) in nodes.enumerated() {
                    for user in 0..<usersPerNode {
                        group.addTask { (index, try await ThreeNodeClusterTests.login(node, code: "phone-n\(index + 1)-u\(user):1")) }
                    }
                }
                return try await group.reduce(into: [(Int, String)]()) { $0.append($1) }
            }
            #expect(users.count == 3 * usersPerNode)

            let burst = Self.burstClient()
            let replies: [(Int, UInt, String)]
            do {
                replies = try await withThrowingTaskGroup(of: (Int, UInt, String).self) { group in
                    for (user, (index, token)) in users.enumerated() {
                        for binding in 0..<bindingsPerUser {
                            let code = "phone-u\(user)-b\(binding):1"
                            let port = nodes[index].port
                            group.addTask {
                                let reply = try await Self.post(burst, port: port, "/api/v1/me/phone", json: #"{"code":"\#(code)"}"#, token: token)
                                return (index + 1, reply.status, reply.body)
                            }
                        }
                    }
                    return try await group.reduce(into: [(Int, UInt, String)]()) { $0.append($1) }
                }
                try await burst.shutdown()
            } catch {
                try? await burst.shutdown()
                throw error
            }
            #expect(replies.count == 3 * usersPerNode * bindingsPerUser)
            for node in 1...3 {
                #expect(replies.filter { $0.0 == node }.count == 50)
            }
            let failed = replies.filter { $0.1 != 200 || !$0.2.contains(#""phone":"+8613"#) }
            #expect(failed.isEmpty, "bindings not answered 200 with a phone: \(failed.prefix(5))\n\(cluster.output)")

            let atWeChat = try await Self.stableTokenStats(nodes[0])
            #expect(atWeChat.calls == 1 && atWeChat.forced == 0,
                    "stable_token calls at the cluster's WeChat: \(atWeChat)\n\(cluster.output)")
            for node in nodes.dropFirst() {
                let own = try await Self.stableTokenStats(node)
                #expect(own.calls == 0, "a node used its own sandbox instead of node 1's (port \(node.port)): \(own)")
            }
            #expect(try await Self.redisValue(redis, "swiftlet:wechat:access_token") != nil, "the token is shared through Redis")
        }
    }

    @Test("Redis killed and restarted while the cluster serves: no request fails, revocations are enforced throughout")
    func redisRestartedWhileServing() async throws {
        try await Self.withCluster { cluster, redis in
            let nodes = (1...3).map { Self.node(cluster, $0) }
            let sku = try await ThreeNodeClusterTests.firstSKU(cluster.api)
            try await cluster.database { connection in
                _ = try await connection.query("UPDATE skus SET stock = 100000 WHERE id = \(sku)", logger: TestStorage.logger)
            }
            // Revoked while Redis is down: one token by logout, another by ending its session
            // from the user's other session; after the restart, a third by logout.
            let loggedOutWhileDown = try await ThreeNodeClusterTests.login(nodes[0], code: "down-logout:1")
            let keeper = try await ThreeNodeClusterTests.login(nodes[2], code: "down-session:1")
            let endedWhileDown = try await ThreeNodeClusterTests.login(nodes[0], code: "down-session:2")
            let loggedOutAfter = try await ThreeNodeClusterTests.login(nodes[0], code: "after-restart:1")
            let endedSession = try #require(try await Self.sessions(nodes[2], token: keeper).first { !$0.current }?.id)
            try await Self.cacheOnInlineLane(loggedOutWhileDown, on: nodes, cluster)
            try await Self.cacheOnInlineLane(endedWhileDown, on: nodes, cluster)
            try await Self.cacheOnInlineLane(loggedOutAfter, on: nodes, cluster)

            let load = ServiceLoad()
            let api = cluster.api
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in 0..<2 {
                    group.addTask { await load.run(client: client, api: api, sku: sku) }
                }
                try await Task.sleep(for: .milliseconds(500))
                #expect(load.succeeded(in: .redisUp) > 0, "the load runs\n\(load.report)")

                await redis.kill()
                load.enter(.redisDown)
                let start = ContinuousClock.now
                let logout = try await nodes[2].call(.POST, "/api/v1/auth/logout", token: loggedOutWhileDown)
                let ended = try await nodes[2].call(.DELETE, "/api/v1/auth/sessions/\(endedSession)", token: keeper)
                #expect(logout.status == 204 && ended.status == 204, "revoked on node 3 with Redis down: \(logout) \(ended)")
                async let byLogout = Self.refusalLatencies(of: loggedOutWhileDown, "logout: ", on: [(1, nodes[0]), (2, nodes[1])],
                                                           since: start, limit: .milliseconds(2500), cluster)
                async let bySession = Self.refusalLatencies(of: endedWhileDown, "ended session: ", on: [(1, nodes[0]), (2, nodes[1])],
                                                            since: start, limit: .milliseconds(2500), cluster)
                let whileDown = try await byLogout + bySession
                print("Redis down, revoked on node 3 → refused: \(Self.describe(whileDown))")
                for latency in whileDown {
                    #expect(latency.elapsed.map { $0 < .milliseconds(2500) } == true,
                            "\(latency.what) refused \(Self.describe(latency.elapsed)) after the revocation with Redis down (bound 2.5 s: database polling every 1 s)\n\(cluster.output)")
                }
                #expect(!LoopbackPorts.accepts(redis.port), "Redis stayed down while the revocations were checked")
                try await Task.sleep(for: .milliseconds(300))
                #expect(load.succeeded(in: .redisDown) > 0, "requests were served while Redis was down\n\(load.report)")

                try await redis.start()
                load.enter(.redisBack)
                let restarted = ContinuousClock.now
                try await ThreeNodeClusterTests.waitUntil("every node re-subscribed to the restarted Redis", cluster, timeout: .seconds(10)) {
                    try await Self.subscriberCounts(redis) == [3, 3]
                }
                print("nodes re-subscribed \(Self.describe(ContinuousClock.now - restarted)) after Redis restarted")

                let again = ContinuousClock.now
                let secondLogout = try await nodes[1].call(.POST, "/api/v1/auth/logout", token: loggedOutAfter)
                #expect(secondLogout.status == 204)
                let afterRestart = try await Self.refusalLatencies(of: loggedOutAfter, on: [(1, nodes[0]), (3, nodes[2])],
                                                                   since: again, cluster)
                print("Redis back, logout on node 2 → refused: \(Self.describe(afterRestart))")
                for latency in afterRestart {
                    #expect(latency.elapsed.map { $0 < .seconds(1) } == true,
                            "\(latency.what) refused \(Self.describe(latency.elapsed)) after the logout on node 2 once Redis was back (bound 1 s)\n\(cluster.output)")
                }
                try await Task.sleep(for: .milliseconds(300))
                load.stop()
                try await group.waitForAll()
            }
            #expect(load.failures.isEmpty, "requests failed while Redis went away and came back: \(load.failures)\n\(cluster.output)")
            #expect(load.succeeded(in: .redisBack) > 0, "requests were served after Redis came back\n\(load.report)")
            print("load through nginx: \(load.report)")
        }
    }

    // MARK: - The cluster

    /// A fresh Redis, then three nodes on it; returns once every node has subscribed to both
    /// channels, so the bus is known to be up (and these nodes to be on this Redis).
    static func withCluster(
        environment: [String: String] = [:], _ body: (ClusterHarness, TestRedisServer) async throws -> Void
    ) async throws {
        let redis = try await TestRedisServer.start()
        defer { redis.stop() }
        try await ClusterHarness.with(environment: [
            "SWIFTLET_REDIS_URL": redis.url, "SWIFTLET_CLUSTER_NODES": "3",
            "SWIFTLET_REALTIME_MESSAGES_PER_MINUTE": "100000",  // the realtime tests send faster than a person
        ].merging(environment) { $1 }) { cluster in
            try await ThreeNodeClusterTests.waitUntil("every node subscribed to Redis", cluster, timeout: .seconds(10)) {
                try await subscriberCounts(redis) == [3, 3]
            }
            try await body(cluster, redis)
        }
    }

    static func node(_ cluster: ClusterHarness, _ index: Int) -> LiveHTTPClient {
        LiveHTTPClient(port: cluster.nodes[index - 1].port)
    }

    /// Answers `/me` on each node, so the node has verified the token and cached the user
    /// row: from then on it answers `/me` inline, from memory. Asked twice, 100 ms apart,
    /// because the login's announcement of a new user (over Redis) may reach a node just
    /// after its first answer cached the row, and empty that entry again.
    static func cacheOnInlineLane(_ token: String, on nodes: [LiveHTTPClient], _ cluster: ClusterHarness) async throws {
        for round in 0..<2 {
            if round > 0 { try await Task.sleep(for: .milliseconds(100)) }
            for node in nodes {
                let reply = try await node.call(.GET, "/api/v1/me", token: token)
                #expect(reply.status == 200, "/me on port \(node.port): \(reply.status) \(reply.body)\n\(cluster.output)")
            }
        }
    }

    // MARK: - Refusals

    struct Refusal: Sendable {
        let what: String
        /// From the revocation's request to the first refusal; nil if none came.
        let elapsed: Duration?
    }

    /// Polls `/me` (inline) and `/auth/sessions` (routed) with `token` on each node, every
    /// few milliseconds, until each refuses it as revoked, or until twice `limit` has
    /// passed (so a slow refusal is still measured and reported).
    static func refusalLatencies(of token: String, _ label: String = "", on nodes: [(Int, LiveHTTPClient)],
                                 since start: ContinuousClock.Instant, limit: Duration = .seconds(1),
                                 _ cluster: ClusterHarness) async throws -> [Refusal] {
        try await withThrowingTaskGroup(of: Refusal.self) { group in
            for (index, node) in nodes {
                for (lane, path) in [("inline", "/api/v1/me"), ("routed", "/api/v1/auth/sessions")] {
                    group.addTask {
                        let what = "\(label)node \(index) \(lane) (\(path))"
                        let deadline = start + limit * 2
                        while ContinuousClock.now < deadline {
                            let reply = try await node.call(.GET, path, token: token)
                            let answered = ContinuousClock.now
                            if reply.status == 401 {
                                guard reply.body.contains("auth.token_revoked") else {
                                    throw TestSetupError("\(what) refused the token for another reason: \(reply.body)")
                                }
                                return Refusal(what: what, elapsed: answered - start)
                            }
                            guard reply.status == 200 else {
                                throw TestSetupError("\(what): \(reply.status) \(reply.body)\n\(cluster.output)")
                            }
                            try await Task.sleep(for: .milliseconds(3))
                        }
                        return Refusal(what: what, elapsed: nil)
                    }
                }
            }
            return try await group.reduce(into: [Refusal]()) { $0.append($1) }.sorted { $0.what < $1.what }
        }
    }

    static func describe(_ refusals: [Refusal]) -> String {
        refusals.map { "\($0.what) \(describe($0.elapsed))" }.joined(separator: ", ")
    }

    static func describe(_ duration: Duration?) -> String {
        guard let duration else { return "never" }
        return "\(Int((Double(duration.components.attoseconds) / 1e15 + Double(duration.components.seconds) * 1000).rounded())) ms"
    }

    static func sessions(_ node: LiveHTTPClient, token: String) async throws -> [(id: String, current: Bool)] {
        let list = try #require(try await node.json(.GET, "/api/v1/auth/sessions", token: token)["sessions"] as? [[String: Any]])
        return try list.map { (try #require($0["id"] as? String), $0["current"] as? Bool ?? false) }
    }

    // MARK: - WeChat

    static func stableTokenStats(_ node: LiveHTTPClient) async throws -> (calls: Int, forced: Int) {
        let stats = try await node.json(.GET, "/sandbox/wechat/stats")
        return (try #require(stats["stableTokenCalls"] as? Int), try #require(stats["forcedStableTokenCalls"] as? Int))
    }

    /// A client whose pool opens as many connections to a node as there are requests, so
    /// fifty requests are really in flight together on each node.
    static func burstClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    static func post(_ client: HTTPClient, port: Int, _ path: String, json: String, token: String) async throws -> (status: UInt, body: String) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: json))
        let response = try await client.execute(request, timeout: .seconds(20))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (response.status.code, String(buffer: body))
    }

    // MARK: - Redis, seen from the test

    static func withRedis<T: Sendable>(_ server: TestRedisServer, _ body: (RedisClient) async throws -> T) async throws -> T {
        var configuration = try RedisConfiguration(url: server.url)
        configuration.poolSize = 1
        let redis = try RedisClient(configuration: configuration)
        do {
            let result = try await body(redis)
            await redis.shutdown()
            return result
        } catch {
            await redis.shutdown()
            throw error
        }
    }

    /// How many connections subscribe to the revocation and the user channels.
    static func subscriberCounts(_ server: TestRedisServer) async throws -> [Int64] {
        try await withRedis(server) { redis in
            var counts: [Int64] = []
            for channel in [revocationsChannel, usersChannel] {
                let reply = try await redis.send("PUBSUB", "NUMSUB", channel)
                let values: [RESPValue]
                switch reply {
                case .array(let items): values = items
                case .map(let pairs): values = pairs.flatMap { [$0.key, $0.value] }
                default: throw TestSetupError("PUBSUB NUMSUB answered \(reply)")
                }
                guard case .integer(let count)? = values.last else { throw TestSetupError("PUBSUB NUMSUB answered \(reply)") }
                counts.append(count)
            }
            return counts
        }
    }

    static func redisValue(_ server: TestRedisServer, _ key: String) async throws -> String? {
        try await withRedis(server) { try await $0.get(key) }
    }
}

/// Clients using the service through nginx while Redis goes away and comes back: each
/// loop logs a new user in, reads `/me` and places an order, and records every answer.
final class ServiceLoad: Sendable {
    enum Phase: String, Sendable { case redisUp, redisDown, redisBack }

    private struct State {
        var phase: Phase = .redisUp
        var stopped = false
        var succeeded: [Phase: Int] = [:]
        var failures: [String] = []
    }

    private let state = Mutex(State())

    func enter(_ phase: Phase) { state.withLock { $0.phase = phase } }
    func stop() { state.withLock { $0.stopped = true } }
    func succeeded(in phase: Phase) -> Int { state.withLock { $0.succeeded[phase] ?? 0 } }
    var failures: [String] { state.withLock { $0.failures } }
    var report: String {
        state.withLock { state in
            "requests answered per phase \(state.succeeded.map { "\($0.key.rawValue): \($0.value)" }.sorted()), failures \(state.failures.count)"
        }
    }

    private var isStopped: Bool { state.withLock { $0.stopped } }

    func run(client: Int, api: LiveHTTPClient, sku: String) async {
        var number = 0
        while !isStopped, !Task.isCancelled {
            number += 1
            let name = "load\(client)-\(number)"
            guard let login = await record("login \(name)", { try await api.call(.POST, "/api/v1/auth/wechat/login", json: #"{"code":"\#(name):1"}"#) }),
                  let object = try? JSONSerialization.jsonObject(with: Data(login.utf8)) as? [String: Any],
                  let token = object["accessToken"] as? String
            else { continue }
            _ = await record("me \(name)") { try await api.call(.GET, "/api/v1/me", token: token) }
            _ = await record("order \(name)") {
                try await api.call(.POST, "/api/v1/orders", json: #"{"items":[{"skuId":"\#(sku)","quantity":1}]}"#, token: token, key: name)
            }
        }
    }

    /// The body of a 2xx answer; anything else is a failure, recorded with its phase.
    private func record(_ what: String, _ call: () async throws -> (status: UInt, body: String)) async -> String? {
        do {
            let reply = try await call()
            return state.withLock { state in
                if (200..<300).contains(reply.status) {
                    state.succeeded[state.phase, default: 0] += 1
                    return reply.body
                }
                state.failures.append("\(what) (\(state.phase.rawValue)): \(reply.status) \(reply.body)")
                return nil
            }
        } catch {
            state.withLock { $0.failures.append("\(what) (\($0.phase.rawValue)): \(error)") }
            return nil
        }
    }
}
