import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwiftletCore
import SwiftletPostgres
import SwiftletPostgresURL
import SwiftletSQLite
import SwiftletServer
import Testing

/// A database that is busy or out of reach answers 503 `storage.unavailable` with
/// `Retry-After` — never a 500 — and service resumes by itself when it is back.
// A bound on the whole suite: a request that never comes back during the outage fails
// the test (with the step it was at) instead of holding the test run until CI's limit.
@Suite("Storage unavailable", .timeLimit(.minutes(4)))
struct StorageUnavailableTests {
    struct Answer {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let body: String

        var errorCode: String? { Reply(status: status, body: body).errorCode }
    }

    static func send(_ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String,
                     json: String? = nil, headers: HTTPFields = [:]) async throws -> Answer {
        var all = headers
        if json != nil { all[.contentType] = "application/json" }
        let started = ContinuousClock.now
        let answer = try await client.execute(uri: uri, method: method, headers: all, body: json.map { ByteBuffer(string: $0) }) { response in
            Answer(status: response.status, headers: response.headers, body: String(buffer: response.body))
        }
        let took = ContinuousClock.now - started
        if took > .seconds(10) { print("storage-unavailable test: \(method) \(uri) took \(took) (\(answer.status))") }
        return answer
    }

    static func expectUnavailable(_ answer: Answer, _ what: String) {
        #expect(answer.status == .serviceUnavailable, "\(what): \(answer.status) \(answer.body)")
        #expect(answer.errorCode == "storage.unavailable", "\(what): \(answer.body)")
        #expect(answer.headers[.retryAfter] == String(SwiftletError.storageRetryAfterSeconds), "\(what) carries Retry-After")
    }

    @Test("SQLite: a write lock held by another process past busy_timeout is 503 storage.unavailable")
    func sqliteLockHeldElsewhere() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/busy.sqlite"
        let storage = try await SQLiteStorage.open(
            SQLiteStorageConfiguration(path: path, readerCount: 2, busyTimeoutMilliseconds: 200), logger: TestStorage.logger)
        try await storage.migrationRunner().migrate()
        let app = try await TestApp.application(storage: storage)
        try await app.test(.live) { (client: any TestClientProtocol) async throws in
            let token = try await client.login("busy:\(RandomID.base32(byteCount: 6))").accessToken
            let bearer: HTTPFields = [.authorization: "Bearer \(token)"]
            let holder = try await SQLiteWriteLockHolder.start(path: path)
            let busy = try await Self.send(client, .patch, "/api/v1/me", json: #"{"nickname":"Busy"}"#, headers: bearer)
            Self.expectUnavailable(busy, "PATCH /api/v1/me while another process holds the write lock")
            await holder.release()
            let after = try await Self.send(client, .patch, "/api/v1/me", json: #"{"nickname":"Free"}"#, headers: bearer)
            #expect(after.status == .ok, "writes work again once the lock is released: \(after.body)")
        }
        try await storage.shutdown()
    }

    @Test("PostgreSQL: cut mid-test, orders answer 503 storage.unavailable, and service resumes when it is back")
    func postgresCutAndRestored() async throws {
        guard EngineKind.available.contains(.postgres) else { return }
        let real = try TestStorage.postgresURL
        let forwarder = TCPForwarder(to: real.host, port: real.port)
        try await forwarder.start()
        var url = real
        url.host = "127.0.0.1"
        url.port = forwarder.port
        let schema = "t_" + RandomID.base32(byteCount: 8)
        try await PostgresSchemas.create(schema)
        do {
            try await Self.ordersAcrossCut(forwarder: forwarder, url: url, schema: schema)
            await forwarder.stop()
            try await PostgresSchemas.drop(schema)
        } catch {
            await forwarder.stop()
            try? await PostgresSchemas.drop(schema)
            throw error
        }
    }

    static func ordersAcrossCut(forwarder: TCPForwarder, url: PostgresURL, schema: String) async throws {
        let storage = try await PostgresStorage.connect(
            PostgresStorageConfiguration(url: url, maximumConnections: 4, connectTimeout: .seconds(3), leaseTimeout: .seconds(3),
                                         startupParameters: [("search_path", schema)]),
            logger: TestStorage.logger)
        try await storage.migrationRunner().migrate()
        let adminKey = "swk_" + RandomID.base32(byteCount: 20)
        _ = try await storage.adminKeys.create(name: "test-admin", keyHash: SecretToken.hash(adminKey), now: Date())
        var customization = SwiftletCustomization()
        customization.runsJobWorker = false
        let app = try await TestApp.application(storage: storage, config: CommerceHarness.config(), customization: customization)
        try await app.test(.live) { (client: any TestClientProtocol) async throws in
            let product = try await client.call(.post, "/admin/v1/products", json: """
                {"title":"Tea","description":"test","skus":[{"title":"Default","priceFen":100,"stock":1000}]}
                """, bearer: adminKey)
            let sku = try product.decode(ProductBody.self).skus[0].id
            let token = try await client.login("cut:\(RandomID.base32(byteCount: 6))").accessToken
            let order = { @Sendable () async throws -> Answer in
                try await Self.send(client, .post, "/api/v1/orders", json: #"{"items":[{"skuId":"\#(sku)","quantity":1}]}"#,
                                    headers: [.authorization: "Bearer \(token)",
                                              HTTPField.Name("Idempotency-Key")!: RandomID.base32(byteCount: 10)])
            }
            #expect(try await order().status == .created)

            await forwarder.cut()
            do {
                for attempt in 1...3 {
                    Self.expectUnavailable(try await order(), "order \(attempt) while PostgreSQL is away")
                }
                let ready = try await Self.send(client, .get, "/health/ready")
                #expect(ready.status == .serviceUnavailable, "readiness reports the outage")
            } catch {
                // The server shuts down when this closure ends: give it its database back.
                forwarder.restore()
                throw error
            }

            forwarder.restore()
            let deadline = ContinuousClock.now + .seconds(30)
            var resumed = try await order()
            while resumed.status != .created, ContinuousClock.now < deadline {
                Self.expectUnavailable(resumed, "order while the pool reconnects")
                try await Task.sleep(for: .milliseconds(200))
                resumed = try await order()
            }
            #expect(resumed.status == .created, "service resumes without a restart: \(resumed.body)")
            #expect(try await Self.send(client, .get, "/health/ready").status == .ok)
        }
        try await storage.shutdown()
    }
}

/// Holds SQLite's write lock from another process (`BEGIN IMMEDIATE` in Python's sqlite3
/// module) until released, as a second program writing to the same file would.
final class SQLiteWriteLockHolder: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe()

    private init() {}

    /// Starts the holder and returns once it holds the lock.
    static func start(path: String) async throws -> SQLiteWriteLockHolder {
        let holder = SQLiteWriteLockHolder()
        try await Blocking.run { try holder.launch(path: path) }
        return holder
    }

    private func launch(path: String) throws {
        let output = Pipe()
        let errors = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // `timeout=30`: the server under test may be mid-write when the holder starts; on a
        // loaded machine that has outlasted a short busy wait.
        process.arguments = ["python3", "-c", """
            import sqlite3, sys
            connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
            connection.execute("BEGIN IMMEDIATE")
            print("locked", flush=True)
            sys.stdin.read()
            """, path]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try ChildProcess.launch(process)
        let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        guard line.hasPrefix("locked") else {
            process.waitUntilExit()
            let reason = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw TestSetupError("the lock holder did not start (exit \(process.terminationStatus)): \(line)\(reason)")
        }
    }

    /// Ends the holding process, which releases the lock.
    func release() async {
        guard process.isRunning else { return }
        try? input.fileHandleForWriting.close()
        await ChildProcess.waitForExit(process)
    }

    deinit {
        if process.isRunning { try? input.fileHandleForWriting.close() }
    }
}
