import Foundation
import HummingbirdTesting
import Logging
import SQLKit
import SwiftletCore
import SwiftletSQLStorage
import SwiftletServer
import Testing

/// A database error never brings the statement's bind values (phone, openid, nickname)
/// into a log line: the request log and the job worker log its kind, SQLSTATE or SQLite
/// result, and a masked message.
@Suite("Error logging")
struct ErrorLoggingTests {
    static let phone = "13800138000"

    /// Inserts the same user twice, the phone number bound as openid and phone: a
    /// unique violation whose driver error carries the number.
    static func insertTwice(_ storage: any StorageEngine) async throws {
        let executor = try #require(storage as? any SQLExecutor)
        let id = "u_" + RandomID.base32(byteCount: 6)
        for _ in 0..<2 {
            try await executor.transaction { db in
                try await db.raw("""
                    INSERT INTO users (id, openid, phone, created_at, updated_at)
                    VALUES (\(bind: id), \(bind: phone), \(bind: phone), 0, 0)
                    """).run()
            }
        }
    }

    static func expectSafe(_ lines: [String], engine: EngineKind) {
        #expect(!lines.isEmpty)
        for line in lines {
            #expect(!line.contains(phone), "a log line carries the phone number: \(line)")
            #expect(!line.contains("INSERT"), "a log line carries the statement: \(line)")
        }
        let marker = engine == .postgres ? "sqlstate=23505" : "sqlite constraintUniqueFailed"
        #expect(lines.contains { $0.contains(marker) }, "the kind is logged: \(lines)")
    }

    @Test("a failing request logs the database error without its bind values", arguments: EngineKind.available)
    func requestLog(kind: EngineKind) async throws {
        let lines = LogLines()
        try await TestStorage.withStorage(kind) { storage in
            let customization = SwiftletCustomization(routes: { router, storage in
                router.post("/test/duplicate-user") { _, _ -> String in
                    try await Self.insertTwice(storage)
                    return "inserted twice"
                }
            })
            let app = try await buildApplication(TestApp.config(), storage: storage, logger: lines.logger, customization: customization)
            try await app.test(.live) { (client: any TestClientProtocol) async throws in
                let reply = try await client.call(.post, "/test/duplicate-user")
                #expect(reply.status == .internalServerError)
                #expect(reply.errorCode == "internal.error")
                #expect(!reply.body.contains(Self.phone))
            }
        }
        let logged = lines.all.filter { $0.contains("unhandled error") }
        #expect(logged.count == 1)
        Self.expectSafe(logged, engine: kind)
    }

    @Test("a failing job logs and stores the database error without its bind values", arguments: EngineKind.available)
    func jobLog(kind: EngineKind) async throws {
        let lines = LogLines()
        try await TestStorage.withStorage(kind) { storage in
            try await storage.jobs.enqueue(JobRequest(kind: "test.duplicate", key: "k1", payload: "", runAt: Date(timeIntervalSinceNow: -1)))
            let worker = JobWorker(
                jobs: storage.jobs, handlers: ["test.duplicate": { _ in try await Self.insertTwice(storage); return .done }],
                clock: .system, policy: .init(), logger: lines.logger)
            #expect(try await worker.runDueJobs() == 1)
            let executor = try #require(storage as? any SQLExecutor)
            let stored = try await executor.read { db in
                try await db.raw("SELECT last_error FROM jobs WHERE job_key = 'k1'").first()?.decode(column: "last_error", as: String?.self)
            }
            Self.expectSafe([try #require(stored)], engine: kind)
        }
        Self.expectSafe(lines.all.filter { $0.contains("job failed") }, engine: kind)
    }

    @Test func sanitisingKeepsReportedIdentifiersAndMasksLiterals() {
        #expect(ErrorLog.sanitise(#"duplicate key value violates unique constraint "users_openid_key""#, keeping: ["users_openid_key"])
            == #"duplicate key value violates unique constraint "users_openid_key""#)
        #expect(ErrorLog.sanitise(#"invalid input syntax for type bigint: "13800138000""#) == #"invalid input syntax for type bigint: "…""#)
        #expect(ErrorLog.sanitise("near '13800138000': syntax error") == "near '…': syntax error")
        #expect(ErrorLog.sanitise("value 13800138000 is out of range for type varchar(64)") == "value # is out of range for type varchar(64)")
        #expect(ErrorLog.sanitise("phone 138-0013-8000 or +86 138 0013 8000 taken") == "phone # or # taken")
        #expect(ErrorLog.sanitise("at line 12 column 3, 2 rows") == "at line 12 column 3, 2 rows", "short numbers stay")
    }
}

/// Collects every log line (message and metadata) for assertions.
final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    var all: [String] { lock.withLock { lines } }

    var logger: Logger {
        var logger = Logger(label: "swiftlet-test-capture") { _ in Handler(sink: self) }
        logger.logLevel = .trace
        return logger
    }

    func append(_ line: String) { lock.withLock { lines.append(line) } }

    struct Handler: LogHandler {
        let sink: LogLines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            sink.append("\(event.level) \(event.message) \(merged.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " "))")
        }
    }
}
