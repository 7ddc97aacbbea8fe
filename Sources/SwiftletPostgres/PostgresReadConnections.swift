import Logging
import NIOCore
import PostgresNIO
import SwiftletCore
import Synchronization
import SwiftletSQLStorage

/// A few connections of their own on each event loop for the buyer's fixed-shape reads
/// (the catalogue), used without a lease.
///
/// `PostgresClient` leases a connection only asynchronously (and its wait is bounded in a
/// task of its own, `PostgresConnectionLease`), so a request on an event loop must cross
/// into a task to read through it. Here a read is queued straight onto one of its event
/// loop's connections, the one with the fewest reads in flight (PostgresNIO runs a
/// connection's queries one after another), and answered by one future on that loop: the
/// inline lane parses, reads and answers a catalogue request on one loop, without a task.
/// (Async callers read here too, through one future; that alone measured no cheaper than
/// the pool, the crossing into the task being the cost.)
///
/// Reads are never refused for lack of room here: `SQLLoopReadDeclined` tells the caller
/// to take the pool's path instead, with its bounded wait and its errors. That happens when
/// there are no read connections, after shutdown, when every connection of the loop already
/// has `maximumQueued` reads, and for a second after a connection could not be made (so an
/// outage is answered as the pool answers it, and not retried by every request).
///
/// All state of one loop's connections lives on that loop (`LoopConnections`), so nothing
/// here takes a lock on the read path.
final class PostgresReadConnections: Sendable {
    /// How the read connections name themselves to the server (`pg_stat_activity`).
    static let applicationName = "swiftlet catalogue reads"
    /// Reads queued on one connection before further reads decline to the pool.
    static let maximumQueued = 16
    /// How long reads go to the pool after a connection could not be made.
    static let retryDelay: TimeAmount = .seconds(1)

    private let loops: [LoopConnections]
    private let next = Atomic<Int>(0)
    /// Each connection's prepared queries (tests watch it).
    let reads = PostgresLoopReads()

    /// `count` connections spread over the group's event loops (0: none, every read goes
    /// to the pool). A read that has not completed within `readTimeout` fails with
    /// `storage.unavailable`, and its connection is closed (what is queued behind it would
    /// wait as long).
    init(count: Int, group: any EventLoopGroup = PostgresConnection.defaultEventLoopGroup,
         configuration: PostgresConnection.Configuration, readTimeout: TimeAmount, guards: ReadCompleteGuards, logger: Logger) {
        let eventLoops = Array(group.makeIterator())
        let settings = LoopConnections.Settings(configuration: configuration, readTimeout: readTimeout, guards: guards, logger: logger)
        loops = eventLoops.enumerated().compactMap { index, eventLoop in
            let share = count / eventLoops.count + (index < count % eventLoops.count ? 1 : 0)
            // Ids of their own: the pool numbers its connections from 0, and the read-complete
            // guards keep their table by id.
            return share == 0 ? nil : LoopConnections(eventLoop: eventLoop, slots: share, firstID: (index + 1) << 32, settings: settings)
        }
    }

    var isEmpty: Bool { loops.isEmpty }

    /// Connections open now, over every loop (tests read it).
    func openCount() async -> Int {
        var total = 0
        for loop in loops {
            total += (try? await loop.eventLoop.submit { loop.openCount }.get()) ?? 0
        }
        return total
    }

    /// The shape's rows, read on a connection of `eventLoop` when it has read connections
    /// (the caller's own loop saves a hop), else of the next loop in turn. Fails with
    /// `SQLLoopReadDeclined` when the read should go through the pool instead.
    func values(
        _ shape: SQLPreparedShape, sql: String, binds: [PostgresData], preferring eventLoop: (any EventLoop)? = nil
    ) -> EventLoopFuture<[SQLValues]> {
        guard !loops.isEmpty else {
            return (eventLoop ?? PostgresConnection.defaultEventLoopGroup.any()).makeFailedFuture(SQLLoopReadDeclined())
        }
        let loop = eventLoop.flatMap { preferred in loops.first { $0.eventLoop === preferred } }
            ?? loops[next.wrappingAdd(1, ordering: .relaxed).oldValue % loops.count]
        if loop.eventLoop.inEventLoop {
            return loop.read(shape, sql: sql, binds: binds, reads: reads)
        }
        return loop.eventLoop.flatSubmit { [reads] in loop.read(shape, sql: sql, binds: binds, reads: reads) }
    }

    /// Closes every connection; later reads decline.
    func shutdown() async {
        for loop in loops {
            let closing = try? await loop.eventLoop.submit { loop.closeAll() }.get()
            _ = try? await closing?.get()
        }
    }
}

/// One event loop's read connections. Touched only on that loop.
private final class LoopConnections: @unchecked Sendable {
    struct Settings {
        let configuration: PostgresConnection.Configuration
        let readTimeout: TimeAmount
        let guards: ReadCompleteGuards
        let logger: Logger
    }

    private enum State {
        case empty
        case connecting(EventLoopFuture<PostgresConnection>)
        case open(PostgresConnection)
    }

    private struct Slot {
        var state: State = .empty
        /// Reads queued on the slot's current connection.
        var inFlight = 0
        /// Bumped whenever the slot's connection goes, so late completions of reads on the
        /// old one leave the new one's count alone.
        var generation = 0
    }

    let eventLoop: any EventLoop
    private let settings: Settings
    private var slots: [Slot]
    private var nextID: Int
    private var retryAfter: NIODeadline?
    private var closed = false

    init(eventLoop: any EventLoop, slots: Int, firstID: Int, settings: Settings) {
        self.eventLoop = eventLoop
        self.slots = Array(repeating: Slot(), count: slots)
        self.nextID = firstID
        self.settings = settings
    }

    var openCount: Int {
        slots.count(where: { if case .open = $0.state { true } else { false } })
    }

    func read(_ shape: SQLPreparedShape, sql: String, binds: [PostgresData], reads: PostgresLoopReads) -> EventLoopFuture<[SQLValues]> {
        eventLoop.assertInEventLoop()
        guard !closed, let index = chooseSlot() else {
            return eventLoop.makeFailedFuture(SQLLoopReadDeclined())
        }
        let connection: EventLoopFuture<PostgresConnection>
        switch slots[index].state {
        case .open(let open): connection = eventLoop.makeSucceededFuture(open)
        case .connecting(let future): connection = future
        case .empty: return eventLoop.makeFailedFuture(SQLLoopReadDeclined())
        }
        slots[index].inFlight += 1
        let generation = slots[index].generation
        let pending = PendingRead(promise: eventLoop.makePromise(of: [SQLValues].self))
        let timeout = eventLoop.scheduleTask(in: settings.readTimeout) { [self] in
            guard pending.complete(.failure(PostgresErrors.unavailable())) else { return }
            settings.logger.debug("a PostgreSQL catalogue read did not complete in time; closing its connection")
            if generation == slots[index].generation, case .open(let stuck) = slots[index].state {
                // Out of the slot at once: reads after this one must not queue behind it.
                lost(index, generation: generation)
                stuck.close().whenComplete { _ in }
            }
        }
        connection.flatMapError { _ in
            // Not connected: the pool answers, as it does for everything else.
            self.eventLoop.makeFailedFuture(SQLLoopReadDeclined())
        }.flatMap { connection in
            reads.values(shape, sql: sql, binds: binds, on: connection) {
                guard !connection.isClosed else { throw PostgresErrors.unavailable() }
            }
        }.whenComplete { [self] result in
            if generation == slots[index].generation {
                slots[index].inFlight -= 1
                if case .failure(let error) = result, Self.endsConnection(error), case .open(let ended) = slots[index].state {
                    // The server ended it (a restart, a terminated backend): reads after this
                    // one get a new connection, even before the close has come through.
                    lost(index, generation: generation)
                    ended.close().whenComplete { _ in }
                }
            }
            if pending.complete(result) { timeout.cancel() }
        }
        return pending.promise.futureResult
    }

    /// The open connection with the fewest reads queued, opening another first when that
    /// one is busy and a slot is free; a connection being made when none is open.
    private func chooseSlot() -> Int? {
        var best: Int?
        var connecting: Int?
        var empty: Int?
        for index in slots.indices {
            if case .open(let connection) = slots[index].state, connection.isClosed {
                // Closed by the server; its close may not have reached `lost` yet.
                lost(index, generation: slots[index].generation)
            }
            switch slots[index].state {
            case .open:
                if best.map({ slots[index].inFlight < slots[$0].inFlight }) ?? true { best = index }
            case .connecting:
                if connecting.map({ slots[index].inFlight < slots[$0].inFlight }) ?? true { connecting = index }
            case .empty:
                if empty == nil { empty = index }
            }
        }
        if let empty, best.map({ slots[$0].inFlight > 0 }) ?? true, mayConnect() {
            connect(empty)
            if best == nil { return empty }
        }
        let chosen = best ?? connecting
        guard let chosen, slots[chosen].inFlight < PostgresReadConnections.maximumQueued else { return nil }
        return chosen
    }

    /// Whether a read's error means its connection is done for.
    private static func endsConnection(_ error: any Error) -> Bool {
        (PostgresErrors.translateLegacy(error) as? SwiftletError)?.code == PostgresErrors.unavailable().code
    }

    private func mayConnect() -> Bool {
        guard let retryAfter else { return true }
        return NIODeadline.now() >= retryAfter
    }

    private func connect(_ index: Int) {
        let id = nextID
        nextID += 1
        let future = PostgresConnection.connect(on: eventLoop, configuration: settings.configuration, id: id, logger: settings.logger)
        slots[index].state = .connecting(future)
        let generation = slots[index].generation
        future.whenComplete { [self] result in
            guard generation == slots[index].generation else {
                // Shut down meanwhile.
                if case .success(let connection) = result { connection.close().whenComplete { _ in } }
                return
            }
            switch result {
            case .success(let connection):
                if closed {
                    connection.close().whenComplete { _ in }
                    return
                }
                slots[index].state = .open(connection)
                settings.guards.install(on: connection)
                connection.closeFuture.whenComplete { [self] _ in
                    eventLoop.execute { self.lost(index, generation: generation) }
                }
            case .failure(let error):
                settings.logger.debug("a PostgreSQL catalogue read connection could not be made; reads use the pool for now", metadata: [
                    "error": .string(String(describing: PostgresErrors.translateLegacy(error))),
                ])
                retryAfter = .now() + PostgresReadConnections.retryDelay
                lost(index, generation: generation)
            }
        }
    }

    private func lost(_ index: Int, generation: Int) {
        guard generation == slots[index].generation else { return }
        slots[index] = Slot(state: .empty, inFlight: 0, generation: generation + 1)
    }

    func closeAll() -> EventLoopFuture<Void> {
        closed = true
        var closing: [EventLoopFuture<Void>] = []
        for index in slots.indices {
            if case .open(let connection) = slots[index].state {
                closing.append(connection.close().flatMapErrorThrowing { _ in })
            }
            slots[index] = Slot(state: .empty, inFlight: 0, generation: slots[index].generation + 1)
        }
        return EventLoopFuture.andAllComplete(closing, on: eventLoop)
    }
}

/// A read's promise, completed once: by its result or by its timeout, whichever comes
/// first. Touched only on the read's event loop.
private final class PendingRead: @unchecked Sendable {
    let promise: EventLoopPromise<[SQLValues]>
    private var completed = false

    init(promise: EventLoopPromise<[SQLValues]>) {
        self.promise = promise
    }

    /// False when the read was already completed.
    func complete(_ result: Result<[SQLValues], any Error>) -> Bool {
        guard !completed else { return false }
        completed = true
        promise.completeWith(result)
        return true
    }
}
