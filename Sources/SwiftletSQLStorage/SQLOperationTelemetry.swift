import CoreMetrics
import Synchronization
import SwiftletCore
import Tracing

/// Measures every repository operation (one `read` or one `transaction`) and the pool
/// behind it: `db_client_operation_duration_seconds` by operation name, a CLIENT span
/// `db <operation>` when tracing is on, and the connections in use and waited for.
///
/// The operation name is the repository and method that asked (`order.create`,
/// `catalog.page`), taken from the call site at compile time: bounded by the code, never
/// by the data, and it names what a slow query was for rather than its SQL.
public final class SQLOperationTelemetry: Sendable {
    public let system: String
    public let maximumConnections: Int
    private struct Attached: Sendable {
        let factory: any MetricsFactory
        let traces: Bool
    }
    private let attached = Mutex<Attached?>(nil)
    /// Per call site: its name and its series, made on first use.
    private let operations = Mutex<[OperationKey: (name: String, timer: CoreMetrics.Timer)]>([:])
    private let inUse = Atomic<Int>(0)
    private let waiting = Atomic<Int>(0)

    /// - Parameters:
    ///   - system: `db.system.name` (`sqlite`, `postgresql`).
    ///   - maximumConnections: the most connections the engine opens.
    public init(system: String, maximumConnections: Int) {
        self.system = system
        self.maximumConnections = maximumConnections
    }

    /// Starts recording into `factory`; spans too when `traces` (the process's tracer).
    public func attach(_ factory: any MetricsFactory, traces: Bool) {
        attached.withLock { $0 = Attached(factory: factory, traces: traces) }
        // Handles made for an earlier application's registry must not keep recording there.
        operations.withLock { $0.removeAll() }
    }

    /// Connections holding an operation now, and operations waiting for one.
    public var pool: (used: Int, pending: Int) {
        (inUse.load(ordering: .relaxed), waiting.load(ordering: .relaxed))
    }

    /// Counts `body` as waiting for a connection until `acquired` runs it.
    public func waitingForConnection<T>(_ body: () async throws -> T) async rethrows -> T {
        waiting.add(1, ordering: .relaxed)
        defer { waiting.subtract(1, ordering: .relaxed) }
        return try await body()
    }

    /// Counts `body` as holding a connection (called by the engine once it has one).
    public func holdingConnection<T>(_ body: () async throws -> T) async rethrows -> T {
        waiting.subtract(1, ordering: .relaxed)
        inUse.add(1, ordering: .relaxed)
        defer {
            inUse.subtract(1, ordering: .relaxed)
            waiting.add(1, ordering: .relaxed)
        }
        return try await body()
    }

    struct OperationKey: Hashable, @unchecked Sendable {
        let file: UnsafeRawPointer
        let function: UnsafeRawPointer
    }

    func measure<T: Sendable>(
        file: StaticString, function: StaticString, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        guard let (name, timer, traces) = operation(file: file, function: function) else { return try await body() }
        let started = ContinuousClock.now
        defer { timer.recordInterval(since: started) }
        // Under an unsampled request the tracer would drop the span: do not make one.
        guard traces, !UnsampledTrace.isCurrent else { return try await body() }
        return try await withSpan("db " + name, ofKind: .client) { span in
            span.attributes["db.system.name"] = system
            span.attributes["db.operation.name"] = name
            return try await body()
        }
    }

    /// The call site's operation name and timer, and whether spans are made; nil while
    /// nothing is attached.
    func operation(file: StaticString, function: StaticString) -> (name: String, timer: CoreMetrics.Timer, traces: Bool)? {
        guard let attached = attached.withLock({ $0 }) else { return nil }
        let key = OperationKey(file: UnsafeRawPointer(file.utf8Start), function: UnsafeRawPointer(function.utf8Start))
        let (name, timer) = operations.withLock { cached in
            if let operation = cached[key] { return operation }
            let name = Self.operationName(file: file, function: function)
            let timer = CoreMetrics.Timer(
                label: "db_client_operation_duration_seconds",
                dimensions: [("db_system_name", system), ("db_operation_name", name)], factory: attached.factory)
            cached[key] = (name, timer)
            return (name, timer)
        }
        return (name, timer, attached.traces)
    }

    /// `SwiftletSQLStorage/SQLOrderRepository+Rows.swift` and `create(_:items:)` give
    /// `order.create`.
    static func operationName(file: StaticString, function: StaticString) -> String {
        let path = file.description
        var base = path[(path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex)...]
        if let end = base.firstIndex(where: { $0 == "+" || $0 == "." }) { base = base[..<end] }
        if base.hasPrefix("SQL") { base = base.dropFirst(3) }
        if base.hasSuffix("Repository") { base = base.dropLast("Repository".count) }
        let type = base.prefix(1).lowercased() + base.dropFirst()
        let method = function.description.prefix { $0 != "(" }
        return type + "." + method
    }
}

extension CoreMetrics.Timer {
    func recordInterval(since started: ContinuousClock.Instant) {
        let (seconds, attoseconds) = (ContinuousClock.now - started).components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
