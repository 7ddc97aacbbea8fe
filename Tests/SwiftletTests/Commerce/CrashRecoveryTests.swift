import AsyncHTTPClient
import Foundation
import PostgresNIO
import SwiftletCore
import NIOCore
import NIOHTTP1
import Testing

/// The real binary, killed with SIGKILL in the middle of the flow and started again.
@Suite("Crash recovery", .serialized)
struct CrashRecoveryTests {
    /// Storage settings for the process: SQLite in its working directory, or a fresh
    /// PostgreSQL database (dropped afterwards).
    static func storageEnvironment(_ kind: EngineKind) async throws -> (environment: [String: String], cleanup: @Sendable () async -> Void) {
        switch kind {
        case .sqlite:
            return ([:], {})
        case .postgres:
            let base = try TestStorage.postgresURL
            let database = "crash_" + RandomID.base32(byteCount: 6)
            try await PostgresSchemas.admin { try await $0.query("CREATE DATABASE \(unescaped: database)", logger: TestStorage.logger) }
            let credentials = base.username + (base.password.map { ":" + $0 } ?? "")
            let url = "postgres://\(credentials)@\(base.host):\(base.port)/\(database)?sslmode=disable"
            return (["SWIFTLET_STORAGE_ENGINE": "postgres", "SWIFTLET_STORAGE_POSTGRES_URL": url, "SWIFTLET_STORAGE_AUTO_MIGRATE": "true"], {
                try? await PostgresSchemas.admin {
                    try await $0.query("DROP DATABASE IF EXISTS \(unescaped: database) WITH (FORCE)", logger: TestStorage.logger)
                }
            })
        }
    }

    @Test("SIGKILL mid-flow: timeout jobs resume after restart, paid orders stay paid", arguments: EngineKind.available)
    func killAndRestart(_ kind: EngineKind) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let storage = try await Self.storageEnvironment(kind)
        let environment = [
            "SWIFTLET_COMMERCE_UNPAID_TIMEOUT": "3", "SWIFTLET_JOBS_POLL_INTERVAL": "0.2", "SWIFTLET_JOBS_LEASE": "2",
            "SWIFTLET_WECHATPAY_SANDBOX_RETRY_SCHEDULE": "0.1,0.2", "SWIFTLET_LOG_LEVEL": "notice",
        ].merging(storage.environment) { $1 }
        let first = try SwiftletProcess.start(["serve", "--port", "0"], workingDirectory: directory.path, environment: environment)
        let api = LiveHTTPClient(port: try await first.waitForPort())

        // The demo catalogue is seeded in development.
        let products = try await api.json(.GET, "/api/v1/products")
        let items = try #require(products["items"] as? [[String: Any]])
        let skus = try #require(items.first?["skus"] as? [[String: Any]])
        let sku = try #require(skus.first?["id"] as? String)

        let login = try await api.json(.POST, "/api/v1/auth/wechat/login", json: #"{"code":"nina:1"}"#)
        let token = try #require(login["accessToken"] as? String)
        func order(_ key: String) async throws -> (id: String, expiresAt: String) {
            let created = try await api.json(.POST, "/api/v1/orders", json: #"{"items":[{"skuId":"\#(sku)","quantity":1}]}"#,
                                             token: token, key: key)
            return (try #require(created["id"] as? String), try #require(created["expiresAt"] as? String))
        }
        let unpaid = try await order("unpaid")
        let paid = try await order("paid")
        let payment = try await api.json(.POST, "/api/v1/orders/\(paid.id)/pay", token: token)
        let package = try #require((payment["payment"] as? [String: Any])?["package"] as? String)
        _ = try await api.json(.POST, "/sandbox/wechatpay/pay", json: #"{"prepayId":"\#(package.dropFirst("prepay_id=".count))"}"#)
        var paidStatus = ""
        for _ in 0..<100 where paidStatus != "paid" {
            paidStatus = try await api.json(.GET, "/api/v1/orders/\(paid.id)", token: token)["status"] as? String ?? ""
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(paidStatus == "paid")

        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        #expect(first.process.terminationReason == .uncaughtSignal)

        let second = try SwiftletProcess.start(["serve", "--port", "0"], workingDirectory: directory.path, environment: environment)
        let restarted = LiveHTTPClient(port: try await second.waitForPort())
        // Deadline: the order's timeout, the dead node's lease and one failed attempt's
        // back-off (a loaded machine can time out a sandbox call), with slack.
        let deadline = ContinuousClock.now + .seconds(3 + 2 + 2 + 13)
        var unpaidStatus = ""
        while ContinuousClock.now < deadline, unpaidStatus != "cancelled" {
            unpaidStatus = try await restarted.json(.GET, "/api/v1/orders/\(unpaid.id)", token: token)["status"] as? String ?? ""
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(unpaidStatus == "cancelled", "the pending timeout job resumed after the restart; the restarted node said:\n\(second.output)")
        let stillPaid = try await restarted.json(.GET, "/api/v1/orders/\(paid.id)", token: token)
        #expect(stillPaid["status"] as? String == "paid", "no paid order is ever closed")
        #expect(try await second.terminate() == 0)
        await storage.cleanup()
    }
}

/// Plain HTTP over AsyncHTTPClient, for servers the test framework does not run.
struct LiveHTTPClient {
    let port: Int

    func call(_ method: HTTPMethod, _ path: String, json: String? = nil, token: String? = nil,
              key: String? = nil, headers: [(String, String)] = []) async throws -> (status: UInt, body: String) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        request.headers.add(contentsOf: headers)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let key { request.headers.add(name: "Idempotency-Key", value: key) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (response.status.code, String(buffer: body))
    }

    func json(_ method: HTTPMethod, _ path: String, json: String? = nil, token: String? = nil, key: String? = nil) async throws -> [String: Any] {
        let reply = try await call(method, path, json: json, token: token, key: key)
        guard (200..<300).contains(reply.status),
              let object = try JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any]
        else { throw TestSetupError("\(method) \(path): \(reply.status) \(reply.body)") }
        return object
    }
}
