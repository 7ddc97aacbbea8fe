import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import SwiftletCore
import SwiftletHTTP
import SwiftletSandbox
import SwiftletServer
import SwiftletTransport
import SwiftletWeChat
import Synchronization
import Testing

/// Several `WeChatClient`s, each standing for one node, sharing their access_token
/// through one cluster state (the in-process one, through the server's adapter), against
/// the WeChat sandbox over real HTTP.
@Suite("Access token shared by several nodes")
struct SharedAccessTokenTests {
    static let appID = "wx00000000sandbox"
    static let secret = "sandbox-test-secret"

    /// The nodes of one test: their clients, the sandbox, and each node's log.
    struct Nodes: Sendable {
        let clients: [WeChatClient]
        let logs: [LogRecorder]
        let sandbox: WeChatSandbox
    }

    /// Runs a sandbox and hands `body` `count` clients sharing `cluster`.
    func withNodes(
        _ count: Int, cluster: any ClusterState, waitLimit: Duration = .seconds(5),
        _ body: @escaping @Sendable (Nodes) async throws -> Void
    ) async throws {
        let sandbox = WeChatSandbox(appID: Self.appID, appSecret: Self.secret)
        let router = Router(context: SwiftletRequestContext.self)
        sandbox.register(on: router)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { (client: any TestClientProtocol) async throws in
            let port = try #require(client.port)
            let logs = (0..<count).map { _ in LogRecorder() }
            let clients = logs.map { log in
                var sharing = AccessTokenSharing.cluster(cluster, clock: .system, logger: log.logger)
                sharing.waitLimit = waitLimit
                return WeChatClient(
                    // These tests count token fetches, not timeouts: a loaded machine's slow
                    // answer must not fail a call.
                    configuration: WeChatConfiguration(
                        appID: Self.appID, appSecret: Self.secret, baseURL: { "http://127.0.0.1:\(port)/sandbox/wechat" },
                        timeout: .seconds(30)),
                    sharing: sharing)
            }
            try await body(Nodes(clients: clients, logs: logs, sandbox: sandbox))
        }
    }

    /// `perNode` concurrent phone-number calls on every node at once; each must succeed.
    func phoneCalls(_ nodes: Nodes, perNode: Int, round: String) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (node, client) in nodes.clients.enumerated() {
                for call in 0..<perNode {
                    group.addTask {
                        let phone = try await client.phoneNumber(code: "erin:\(round)-\(node)-\(call)")
                        #expect(phone.phoneNumber.hasPrefix("+8613"))
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    @Test("3 nodes × 50 concurrent calls with a cold cache: exactly one stable_token call")
    func oneFetchForTheCluster() async throws {
        try await withNodes(3, cluster: InProcessClusterState()) { nodes in
            let tokens = try await withThrowingTaskGroup(of: String.self) { group in
                for client in nodes.clients {
                    for _ in 0..<50 { group.addTask { try await client.accessToken() } }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(tokens.count == 150)
            #expect(Set(tokens).count == 1, "every node uses the one shared token")
            #expect(nodes.sandbox.stableTokenCalls == 1)
        }
    }

    @Test("the shared token is stored with its expiry under swiftlet:wechat:access_token, the lock released")
    func tokenStoredWithExpiry() async throws {
        let cluster = InProcessClusterState()
        try await withNodes(1, cluster: cluster) { nodes in
            let before = Date()
            let token = try await nodes.clients[0].accessToken()
            let stored = try #require(try await cluster.value(at: "swiftlet:wechat:access_token"))
            let shared = try #require(SharedAccessToken(encoded: stored))
            #expect(shared.value == token)
            #expect(abs(shared.expiresAt.timeIntervalSince(before) - 7200) < 5)
            #expect(abs(shared.expiresAt.timeIntervalSince(shared.refreshAt) - 300) < 0.01, "refreshed 5 minutes before expiry")
            #expect(try await cluster.value(at: "swiftlet:wechat:access_token:lock") == nil)
        }
    }

    @Test("a token rejected on every node (40001) while stable_token keeps returning it: exactly one forced refresh")
    func rejectedTokenOneForcedRefresh() async throws {
        try await withNodes(3, cluster: InProcessClusterState()) { nodes in
            try await phoneCalls(nodes, perNode: 1, round: "warm")
            #expect(nodes.sandbox.stableTokenCalls == 1)
            nodes.sandbox.rejectToken()
            try await phoneCalls(nodes, perNode: 20, round: "rejected")
            #expect(nodes.sandbox.forcedStableTokenCalls == 1)
            #expect(nodes.sandbox.stableTokenCalls == 3, "one normal call (the rejected token again), then the forced one")
            #expect(nodes.logs.flatMap(\.logged).filter { $0.message.contains("forcing a refresh") }.count == 1)
        }
    }

    @Test("a token replaced at WeChat (40001) on every node: one normal-mode refresh for the cluster, none forced")
    func rotatedTokenOneRefresh() async throws {
        try await withNodes(3, cluster: InProcessClusterState()) { nodes in
            try await phoneCalls(nodes, perNode: 1, round: "warm")
            nodes.sandbox.rotateToken()
            try await phoneCalls(nodes, perNode: 20, round: "rotated")
            #expect(nodes.sandbox.stableTokenCalls == 2)
            #expect(nodes.sandbox.forcedStableTokenCalls == 0)
        }
    }

    @Test("a rejection seen late drops nothing: a fresh shared token is kept")
    func lateRejectionKeepsTheFreshToken() async throws {
        let cluster = InProcessClusterState()
        let store = ClusterAccessTokenStore(cluster: cluster)
        let now = Date()
        try await store.store(SharedAccessToken(value: "fresh", refreshAt: now + 60, expiresAt: now + 120))
        #expect(try await store.dropToken(ifValue: "old") == false)
        #expect(try await store.token()?.value == "fresh")
        #expect(try await store.dropToken(ifValue: "fresh") == true)
        #expect(try await store.token() == nil)
    }

    @Test("the refresh lock is its owner's, and its lease frees it")
    func lockOwnershipAndLease() async throws {
        let time = Mutex(Date(timeIntervalSince1970: 1_700_000_000))
        let clock = SwiftletClock { time.withLock { $0 } }
        let store = ClusterAccessTokenStore(cluster: InProcessClusterState(clock: clock), clock: clock)
        #expect(try await store.acquireRefreshLock(owner: "a", lease: .seconds(10)))
        #expect(try await store.acquireRefreshLock(owner: "b", lease: .seconds(10)) == false)
        try await store.releaseRefreshLock(owner: "b")
        #expect(try await store.acquireRefreshLock(owner: "b", lease: .seconds(10)) == false, "only the owner releases it")
        time.withLock { $0 += 11 }
        #expect(try await store.acquireRefreshLock(owner: "b", lease: .seconds(10)), "a dead owner's lock expires with its lease")
        #expect(try await store.claimForcedRefresh(spacing: .seconds(30)))
        #expect(try await store.claimForcedRefresh(spacing: .seconds(30)) == false, "one forced refresh per spacing")
    }

    @Test("a node that finds the lock held past the wait limit fetches on its own in normal mode")
    func lockHolderThatNeverFinishes() async throws {
        let cluster = InProcessClusterState()
        #expect(try await cluster.setIfAbsent("swiftlet:wechat:access_token:lock", to: "dead-node", expiresIn: 60))
        try await withNodes(1, cluster: cluster, waitLimit: .milliseconds(300)) { nodes in
            let started = ContinuousClock.now
            _ = try await nodes.clients[0].accessToken()
            #expect(ContinuousClock.now - started < .seconds(3))
            #expect(nodes.sandbox.stableTokenCalls == 1)
            #expect(nodes.sandbox.forcedStableTokenCalls == 0)
        }
    }

    @Test("store down: each node fetches its own token (one call per node), warns once per outage, and notes the recovery")
    func storeDownFallsBackPerNode() async throws {
        let cluster = KeysOutageClusterState()
        cluster.isDown = true
        try await withNodes(3, cluster: cluster) { nodes in
            try await phoneCalls(nodes, perNode: 20, round: "down")
            #expect(nodes.sandbox.stableTokenCalls == 3, "one fetch per node: the single-flight cache stays in front")
            #expect(nodes.sandbox.forcedStableTokenCalls == 0)
            nodes.sandbox.rotateToken()
            try await phoneCalls(nodes, perNode: 5, round: "still-down")
            for log in nodes.logs {
                #expect(log.warnings(containing: "shared store unavailable") == 1, "one warning per outage")
                #expect(!log.logged.contains { $0.message.contains("answers again") })
            }

            cluster.isDown = false
            nodes.sandbox.rotateToken()
            try await phoneCalls(nodes, perNode: 5, round: "back")
            for log in nodes.logs {
                #expect(log.logged.filter { $0.message.contains("answers again") }.count == 1)
            }
            cluster.isDown = true
            nodes.sandbox.rotateToken()
            try await phoneCalls(nodes, perNode: 5, round: "down-again")
            for log in nodes.logs {
                #expect(log.warnings(containing: "shared store unavailable") == 2, "a new outage is reported again")
            }
        }
    }
}

/// A cluster state whose key operations throw while `isDown` (Redis unreachable), and
/// that is the in-process one otherwise.
private final class KeysOutageClusterState: ClusterState {
    private let inner = InProcessClusterState()
    private let down = Mutex(false)

    var isDown: Bool {
        get { down.withLock { $0 } }
        set { down.withLock { $0 = newValue } }
    }

    var isShared: Bool { true }

    private func check() throws {
        if isDown { throw SwiftletError.unavailable("cluster.unavailable", "The shared store cannot be reached.") }
    }

    func publish(_ payload: String, on channel: String) async throws {
        try check()
        try await inner.publish(payload, on: channel)
    }

    func subscribe(to channels: [String]) -> AsyncStream<ClusterBusEvent> {
        inner.subscribe(to: channels)
    }

    func increment(_ key: String, by amount: Int64, window: TimeInterval) async throws -> Int64 {
        try check()
        return try await inner.increment(key, by: amount, window: window)
    }

    func setIfAbsent(_ key: String, to value: String, expiresIn: TimeInterval) async throws -> Bool {
        try check()
        return try await inner.setIfAbsent(key, to: value, expiresIn: expiresIn)
    }

    func set(_ key: String, to value: String, expiresIn: TimeInterval) async throws {
        try check()
        try await inner.set(key, to: value, expiresIn: expiresIn)
    }

    func value(at key: String) async throws -> String? {
        try check()
        return try await inner.value(at: key)
    }

    func delete(_ key: String, ifValue value: String) async throws -> Bool {
        try check()
        return try await inner.delete(key, ifValue: value)
    }
}

extension LogRecorder {
    fileprivate func warnings(containing text: String) -> Int {
        logged.filter { $0.level == .warning && $0.message.contains(text) }.count
    }
}
