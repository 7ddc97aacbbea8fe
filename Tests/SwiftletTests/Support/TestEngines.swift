import Foundation
import Logging
import PostgresNIO
import SwiftletCore
import SwiftletPostgres
import SwiftletPostgresURL
import SwiftletSQLite
import Synchronization
import Testing
import SwiftletMigrations

/// The engines the storage contract suite runs against.
///
/// PostgreSQL runs when `SWIFTLET_TEST_POSTGRES_URL` is set (the test command sets it).
/// Under `CI=true` it always runs, so a missing server is a failure, never a skip.
enum EngineKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    var testDescription: String { rawValue }

    static var available: [EngineKind] {
        let environment = ProcessInfo.processInfo.environment
        if environment["SWIFTLET_TEST_POSTGRES_URL"] != nil || environment["CI"] == "true" {
            return [.sqlite, .postgres]
        }
        FileHandle.standardError.write(Data("note: SWIFTLET_TEST_POSTGRES_URL not set; PostgreSQL contract tests not run (use scripts/test.sh)\n".utf8))
        return [.sqlite]
    }
}

enum TestStorage {
    static let logger = Logger(label: "swiftlet-test")

    static var postgresURL: PostgresURL {
        get throws {
            guard let text = ProcessInfo.processInfo.environment["SWIFTLET_TEST_POSTGRES_URL"] else {
                throw TestSetupError("CI=true but SWIFTLET_TEST_POSTGRES_URL is not set: PostgreSQL is required")
            }
            return try PostgresURL(parsing: text)
        }
    }

    /// A fresh, empty database of the given kind, migrated, closed (and for PostgreSQL
    /// dropped) after `body`.
    static func withStorage<T: Sendable>(
        _ kind: EngineKind, clock: SwiftletClock = .system, migrate: Bool = true,
        _ body: (any StorageEngine & MigratableEngine) async throws -> T
    ) async throws -> T {
        switch kind {
        case .sqlite:
            let directory = try TemporaryDirectory()
            let storage = try await SQLiteStorage.open(
                SQLiteStorageConfiguration(path: directory.path + "/test.sqlite", readerCount: 2), clock: clock, logger: logger)
            if migrate { try await storage.migrationRunner().migrate() }
            do {
                let result = try await body(storage)
                try await storage.shutdown()
                directory.remove()
                return result
            } catch {
                try? await storage.shutdown()
                directory.remove()
                throw error
            }
        case .postgres:
            return try await PostgresTestSlots.withSlot {
                let schema = "t_" + RandomID.base32(byteCount: 8)
                try await PostgresSchemas.create(schema)
                // A generous wait for a connection: the suites all start at once on two cores,
                // and a test counting exact outcomes (200 buyers, 50 units) must not see a 503
                // because the machine was busy. The tests of the wait itself make storages of
                // their own.
                let storage = try await PostgresStorage.connect(
                    PostgresStorageConfiguration(url: try postgresURL, maximumConnections: 20, leaseTimeout: .seconds(20),
                                                 startupParameters: [("search_path", schema)], readConnections: 2),
                    clock: clock, logger: logger)
                return try await PostgresSchemas.closing(storage, dropping: schema) { storage in
                    if migrate { try await storage.migrationRunner().migrate() }
                    return try await body(storage)
                }
            }
        }
    }
}

/// At most six PostgreSQL test databases are in use at once. The suites all start
/// together on two cores; a PostgreSQL storage migrates its own schema and may open 22
/// connections, and a hundred of them at once overload the machine (every real-time bound
/// in the parallel suites with it) and the test server's `max_connections`. The rest wait
/// their turn (`TestSlots`).
enum PostgresTestSlots {
    static let slots = TestSlots(count: 6, waitLimit: .seconds(240))

    static func withSlot<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await slots.withSlot(body)
    }
}

/// A fixed number of slots handed out in arrival order, re-entrant within a task (a test
/// holding a slot that asks again does not wait for itself).
///
/// A wait is bounded: a test that never ends keeps its slot, and the tests queued behind
/// it would otherwise hang with it. They fail instead, naming the tests that hold the
/// slots, which are the ones to look at.
final class TestSlots: Sendable {
    let count: Int
    let waitLimit: Duration
    @TaskLocal private static var held: Set<ObjectIdentifier> = []

    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var free: Int
        var nextID = 0
        var waiters: [Waiter] = []
        /// The tests holding a slot, by lease.
        var holders: [Int: String] = [:]
    }

    private let state: Mutex<State>

    /// Callers queued for a slot.
    var waitingCount: Int { state.withLock { $0.waiters.count } }

    init(count: Int, waitLimit: Duration) {
        self.count = count
        self.waitLimit = waitLimit
        state = Mutex(State(free: count))
    }

    func withSlot<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        let me = ObjectIdentifier(self)
        if Self.held.contains(me) { return try await body() }
        let lease = try await acquire(for: Test.current.map { $0.displayName ?? $0.name } ?? "a task outside a test")
        defer { release(lease) }
        return try await Self.$held.withValue(Self.held.union([me])) { try await body() }
    }

    private func acquire(for name: String) async throws -> Int {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        let timer = Task { [waitLimit] in
            try await Task.sleep(for: waitLimit)
            self.giveUp(id)
        }
        defer { timer.cancel() }
        let granted = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let now = state.withLock { state -> Bool in
                guard state.free > 0 else {
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return false
                }
                state.free -= 1
                return true
            }
            if now { continuation.resume(returning: true) }
        }
        let holders = state.withLock { state -> [String] in
            if granted { state.holders[id] = name }
            return state.holders.values.sorted()
        }
        guard granted else {
            throw TestSetupError("no slot within \(waitLimit): all \(count) are held by "
                                 + holders.map { "\"\($0)\"" }.joined(separator: ", ") + " (a test that never ends keeps its slot)")
        }
        return id
    }

    /// The slot goes to the first waiter, or back to the free ones.
    private func release(_ id: Int) {
        let next = state.withLock { state -> Waiter? in
            state.holders[id] = nil
            guard !state.waiters.isEmpty else {
                state.free += 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.continuation.resume(returning: true)
    }

    /// A waiter still queued at its limit leaves the queue without a slot.
    private func giveUp(_ id: Int) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        waiter?.continuation.resume(returning: false)
    }
}

/// Engines that can hand out their migration runner (both do).
protocol MigratableEngine {
    func migrationRunner() -> MigrationRunner
}

extension SQLiteStorage: MigratableEngine {}
extension PostgresStorage: MigratableEngine {}

enum PostgresSchemas {
    static func create(_ schema: String) async throws {
        try await admin { try await $0.query("CREATE SCHEMA \(unescaped: schema)", logger: TestStorage.logger) }
    }

    static func drop(_ schema: String) async throws {
        try await admin { try await $0.query("DROP SCHEMA IF EXISTS \(unescaped: schema) CASCADE", logger: TestStorage.logger) }
    }

    /// `body` with `storage`, which is then shut down and `schema` (if any) dropped, whether
    /// `body` threw or not.
    static func closing<T>(
        _ storage: PostgresStorage, dropping schema: String?, _ body: (PostgresStorage) async throws -> T
    ) async throws -> T {
        do {
            let result = try await body(storage)
            try await storage.shutdown()
            if let schema { try await drop(schema) }
            return result
        } catch {
            try? await storage.shutdown()
            if let schema { try? await drop(schema) }
            throw error
        }
    }

    static func admin(_ body: (PostgresConnection) async throws -> Void) async throws {
        let url = try TestStorage.postgresURL
        let connection = try await PostgresConnection.connect(
            configuration: .init(host: url.host, port: url.port, username: url.username, password: url.password,
                                 database: url.database, tls: .disable),
            id: 1, logger: TestStorage.logger)
        do {
            try await body(connection)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A directory under the system temp folder, removed explicitly by the test.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "swiftlet-test-" + RandomID.base32(byteCount: 8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
