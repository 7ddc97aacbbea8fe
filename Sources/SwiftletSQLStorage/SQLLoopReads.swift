import NIOCore
import SQLKit
import SwiftletCore
import Tracing

/// An engine that reads statements of a fixed shape as futures on an event loop
/// (PostgreSQL's read connections), so a request answered on its connection's event loop
/// (the inline lane) can wait for its rows there, without a task or a hop.
public protocol SQLLoopReader: SQLExecutor {
    /// Whether this engine, as configured, reads on event loops at all (PostgreSQL: with
    /// read connections). Without, callers keep to their usual path.
    var readsOnLoop: Bool { get }

    /// The statement's values, read preferably on `eventLoop`; nil when the engine cannot
    /// read on an event loop now. The future fails with `SQLLoopReadDeclined` when this read
    /// cannot be taken (the caller reads the usual way), or with the engine's errors,
    /// translated as `performValues` translates them.
    func loopValues(_ shape: SQLPreparedShape, _ statement: SQLQueryString, preferring eventLoop: (any EventLoop)?)
        -> EventLoopFuture<[SQLValues]>?
}

/// A loop read the engine could not take; the caller reads through `performValues`.
public struct SQLLoopReadDeclined: Error {
    public init() {}
}

extension SQLLoopReader {
    /// A loop read measured like `values` (the same operation name, duration and span),
    /// through `performValues` when declined (measured as one operation either way).
    func loopValues(
        _ shape: SQLPreparedShape, _ statement: SQLQueryString, on eventLoop: any EventLoop,
        function: StaticString, file: StaticString
    ) -> EventLoopFuture<[SQLValues]>? {
        guard let read = loopValues(shape, statement, preferring: eventLoop) else { return nil }
        let answered = read.flatMapError { error in
            guard error is SQLLoopReadDeclined else { return eventLoop.makeFailedFuture(error) }
            return eventLoop.makeFutureWithTask { try await self.performValues(shape, statement) }
        }
        return operations.measure(file: file, function: function, answered)
    }
}

extension SQLOperationTelemetry {
    /// `measure` for a read that is a future: the same timer, and a CLIENT span under the
    /// current service context (the request's span where the inline lane started the read).
    func measure<T>(file: StaticString, function: StaticString, _ future: EventLoopFuture<T>) -> EventLoopFuture<T> {
        guard let (name, timer, traces) = operation(file: file, function: function) else { return future }
        let started = ContinuousClock.now
        var span: (any Span)?
        if traces, !UnsampledTrace.isCurrent {
            let opened = startSpan("db " + name, context: ServiceContext.current ?? .topLevel, ofKind: .client)
            opened.attributes["db.system.name"] = system
            opened.attributes["db.operation.name"] = name
            span = opened
        }
        return future.always { [span] result in
            timer.recordInterval(since: started)
            if case .failure(let error) = result { span?.recordError(error) }
            span?.end()
        }
    }
}
