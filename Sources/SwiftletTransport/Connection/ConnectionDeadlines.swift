import NIOCore

/// Time limits for one HTTP/1.1 connection.
public struct ConnectionTimeouts: Sendable, Equatable {
    /// Waiting for the first byte of the next request on a kept-alive connection.
    public var idle: TimeAmount
    /// From the first byte of a request until its head is complete.
    public var header: TimeAmount
    /// From a complete head until the request body is complete.
    public var body: TimeAmount

    public init(idle: TimeAmount, header: TimeAmount, body: TimeAmount) {
        self.idle = idle
        self.header = header
        self.body = body
    }
}

/// When a connection must be closed, as a pure state machine fed with events and the
/// current time, so every rule is tested without sockets or sleeping.
///
/// The point is to bound slow clients (slowloris): a client that dribbles a header or
/// body byte by byte can hold a connection for at most `header` or `body`, however
/// often it sends; a client that sends nothing is gone after `idle`. A request being
/// processed by a handler has no deadline here: that is the handler's business.
///
/// Requests may be pipelined, so reading and answering are tracked apart: the reading
/// side is in one phase (between requests, in a head, in a body), and `unanswered` counts
/// requests read completely whose responses have not ended. The idle deadline only runs
/// when nothing is being read and every request has been answered, so the end of one
/// response never starts a clock on a later request whose handler is still working.
struct ConnectionDeadlines: Equatable {
    enum Phase: Equatable {
        /// Between requests: nothing of the next one has arrived.
        case awaitingRequest
        case readingHead
        case readingBody
    }

    enum Action: Equatable {
        case schedule(NIODeadline)
        case cancel
        case none
    }

    let timeouts: ConnectionTimeouts
    private(set) var phase: Phase = .awaitingRequest
    private(set) var deadline: NIODeadline?
    /// Requests read completely whose responses have not ended yet.
    private(set) var unanswered = 0
    /// The request being read was answered before its body ended (e.g. 413).
    private var answeredWhileReading = false
    /// When a client that stopped reading must have drained its socket: a response
    /// waiting for a reader has no other deadline (the handler is done, the request
    /// counts as unanswered until its end is written).
    private(set) var stallDeadline: NIODeadline?

    init(timeouts: ConnectionTimeouts) {
        self.timeouts = timeouts
    }

    mutating func connectionOpened(now: NIODeadline) -> Action {
        phase = .awaitingRequest
        unanswered = 0
        answeredWhileReading = false
        return set(now + timeouts.idle)
    }

    /// Raw bytes arrived from the client.
    mutating func bytesReceived(now: NIODeadline) -> Action {
        guard phase == .awaitingRequest else { return .none }
        phase = .readingHead
        return set(now + timeouts.header)
    }

    mutating func headReceived(now: NIODeadline) -> Action {
        phase = .readingBody
        answeredWhileReading = false
        return set(now + timeouts.body)
    }

    mutating func requestEnded(now: NIODeadline) -> Action {
        phase = .awaitingRequest
        if answeredWhileReading {
            answeredWhileReading = false
        } else {
            unanswered += 1
        }
        return settle(now)
    }

    /// The last part of a response was written.
    mutating func responseEnded(now: NIODeadline) -> Action {
        if unanswered == 0 {
            // Answered before its body was read (e.g. 413): the body deadline still applies.
            if phase == .readingBody { answeredWhileReading = true }
            return phase == .awaitingRequest ? settle(now) : .none
        }
        unanswered -= 1
        // A later request being read keeps its own head or body deadline.
        return phase == .awaitingRequest ? settle(now) : .none
    }

    /// The socket stopped taking our bytes (the client does not read): it has `idle` to
    /// start reading again. A stall that goes on does not extend it.
    mutating func writeStalled(now: NIODeadline) {
        if stallDeadline == nil { stallDeadline = now + timeouts.idle }
    }

    /// The socket takes bytes again.
    mutating func writeResumed() {
        stallDeadline = nil
    }

    func isExpired(now: NIODeadline) -> Bool {
        if let stallDeadline, now >= stallDeadline { return true }
        guard let deadline else { return false }
        return now >= deadline
    }

    /// Between requests: no deadline while a handler works, the idle one once all are answered.
    private mutating func settle(_ now: NIODeadline) -> Action {
        set(unanswered > 0 ? nil : now + timeouts.idle)
    }

    private mutating func set(_ newDeadline: NIODeadline?) -> Action {
        deadline = newDeadline
        return newDeadline.map(Action.schedule) ?? .cancel
    }
}
