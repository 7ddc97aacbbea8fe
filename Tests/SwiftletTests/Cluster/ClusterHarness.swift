import Foundation
import Glibc
import PostgresNIO
import SwiftletPostgresURL
import Testing

/// Several `swiftlet serve` processes on one fresh PostgreSQL database with nginx in front
/// (configured with `deploy/nginx/swiftlet-upstream.conf`), as an operator runs them.
///
/// Node 1 starts first and the others together once it is ready: node 1 applies the
/// migrations, seeds the demo catalogue and generates the development secrets (the JWT key
/// and the sandbox merchant) in the data directory every node shares. Concurrent migration
/// would be safe (an advisory lock serialises migrators), but seeding is not: nodes
/// starting together could each find the catalogue empty and each seed it.
///
/// Node 1 also plays WeChat for the whole cluster: every node's WeChat and WeChat Pay base
/// URLs point at node 1's sandboxes (a sandbox keeps its state in its process, and a real
/// cluster talks to one WeChat). WeChat Pay notifies go to nginx, so any living node
/// records them. Tests that kill a node therefore kill one other than node 1.
final class ClusterHarness: @unchecked Sendable {
    struct Node {
        let index: Int
        let port: Int
        let process: SwiftletProcess
    }

    let directory: TemporaryDirectory
    let nodes: [Node]
    let nginx: NginxProcess
    /// The storage settings every node has; also what a one-shot `swiftlet` command needs
    /// to reach the same database (`swiftlet admin create-key`).
    let storageEnvironment: [String: String]
    private let database: PostgresURL
    private let dropDatabase: @Sendable () async -> Void

    /// Whether the cluster tests run: they need PostgreSQL and nginx (always under CI=true).
    static var enabled: Bool {
        EngineKind.available.contains(.postgres) && ExternalTool.enabled("nginx")
    }

    /// The API through nginx.
    var api: LiveHTTPClient { LiveHTTPClient(port: nginx.port) }
    /// Node 1, where the cluster's WeChat and WeChat Pay sandboxes live.
    var wechat: LiveHTTPClient { LiveHTTPClient(port: nodes[0].port) }

    /// Starts `count` nodes and nginx, runs `body`, and stops everything whatever happens.
    /// `environment` goes to every node after the harness's own settings, so it can add
    /// or override any `SWIFTLET_…` setting (shared-state settings such as
    /// `SWIFTLET_REDIS_URL` and `SWIFTLET_CLUSTER_NODES`, shorter job intervals).
    static func with<T>(nodes count: Int = 3, environment: [String: String] = [:],
                        _ body: (ClusterHarness) async throws -> T) async throws -> T {
        let cluster = try await start(nodes: count, environment: environment)
        do {
            let result = try await body(cluster)
            await cluster.stop()
            return result
        } catch {
            await cluster.stop()
            throw error
        }
    }

    static func start(nodes count: Int, environment extra: [String: String]) async throws -> ClusterHarness {
        precondition(count >= 1)
        let directory = try TemporaryDirectory()
        let storage = try await CrashRecoveryTests.storageEnvironment(.postgres)
        var started: [Node] = []
        do {
            let databaseURL = try PostgresURL(parsing: try #require(storage.environment["SWIFTLET_STORAGE_POSTGRES_URL"]))
            let nginxPort = try LoopbackPorts.free()
            let shared = storage.environment.merging([
                "SWIFTLET_DATA_DIRECTORY": directory.path + "/data",
                "SWIFTLET_STORAGE_POSTGRES_POOL_SIZE": "4",
                "SWIFTLET_WECHATPAY_NOTIFY_URL": "http://127.0.0.1:\(nginxPort)/api/v1/pay/wechat/notify",
                "SWIFTLET_WECHATPAY_SANDBOX_RETRY_SCHEDULE": "0.2,0.5,1,2,5",
            ]) { $1 }
            func launch(_ index: Int, _ environment: [String: String]) throws -> SwiftletProcess {
                let workingDirectory = directory.path + "/node-\(index)"
                try FileManager.default.createDirectory(atPath: workingDirectory, withIntermediateDirectories: true)
                return try SwiftletProcess.start(["serve", "--port", "0"], workingDirectory: workingDirectory,
                                                 environment: environment.merging(extra) { $1 })
            }
            let first = try launch(1, shared)
            started.append(Node(index: 1, port: try await first.waitForPort(), process: first))
            let wechatHost = "http://127.0.0.1:\(started[0].port)"
            let others = try (count > 1 ? Array(2...count) : []).map { index in
                (index, try launch(index, shared.merging([
                    "SWIFTLET_WECHAT_API_BASE_URL": wechatHost + "/sandbox/wechat",
                    "SWIFTLET_WECHATPAY_BASE_URL": wechatHost + "/sandbox/wechatpay",
                ]) { $1 }))
            }
            for (index, process) in others {
                started.append(Node(index: index, port: try await process.waitForPort(), process: process))
            }
            let nginxDirectory = directory.path + "/nginx"
            try FileManager.default.createDirectory(atPath: nginxDirectory, withIntermediateDirectories: true)
            let nginx = try await NginxProcess(directory: nginxDirectory, port: nginxPort, nodePorts: started.map(\.port))
            return ClusterHarness(directory: directory, nodes: started, nginx: nginx, storageEnvironment: storage.environment,
                                  database: databaseURL, dropDatabase: storage.cleanup)
        } catch {
            for node in started where node.process.process.isRunning {
                _ = try? await node.process.terminate()
            }
            await storage.cleanup()
            directory.remove()
            throw error
        }
    }

    private init(directory: TemporaryDirectory, nodes: [Node], nginx: NginxProcess, storageEnvironment: [String: String],
                 database: PostgresURL, dropDatabase: @escaping @Sendable () async -> Void) {
        self.directory = directory
        self.nodes = nodes
        self.nginx = nginx
        self.storageEnvironment = storageEnvironment
        self.database = database
        self.dropDatabase = dropDatabase
    }

    /// `kill -9` of node `index` (1-based), returning once it is gone.
    func kill(node index: Int) {
        let process = nodes[index - 1].process.process
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Stops the nodes (SIGTERM, as an orchestrator does) and nginx, drops the database and
    /// removes the directory.
    func stop() async {
        await withTaskGroup(of: Void.self) { group in
            for node in nodes where node.process.process.isRunning {
                group.addTask { _ = try? await node.process.terminate() }
            }
        }
        nginx.stop()
        await dropDatabase()
        directory.remove()
    }

    /// Every node's output, labelled, for failure messages.
    var output: String {
        nodes.map { "--- node \($0.index) (port \($0.port)) ---\n\($0.process.output)" }.joined(separator: "\n")
            + "\n--- nginx ---\n" + nginx.errorLog
    }

    /// A connection to the cluster's database, for what the tests check behind the API.
    func database<T>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await PostgresConnection.connect(
            configuration: .init(host: database.host, port: database.port, username: database.username,
                                 password: database.password, database: database.database, tls: .disable),
            id: 1, logger: TestStorage.logger)
        do {
            let result = try await body(connection)
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// A new admin key for the cluster (`swiftlet admin create-key` against its database).
    func createAdminKey() async throws -> String {
        let result = try await SwiftletProcess.run(["admin", "create-key", "--name", "cluster-test"],
                                             environment: storageEnvironment.merging(["SWIFTLET_LOG_LEVEL": "warning"]) { $1 })
        guard result.status == 0 else { throw TestSetupError("admin create-key failed: \(result.standardError)") }
        return result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
