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
struct ConnectionDeadlines: Equatable {
    enum Phase: Equatable {
        case awaitingRequest
        case readingHead
        case exchanging(requestComplete: Bool, responseComplete: Bool)
    }

    enum Action: Equatable {
        case schedule(NIODeadline)
        case cancel
        case none
    }

    let timeouts: ConnectionTimeouts
    private(set) var phase: Phase = .awaitingRequest
    private(set) var deadline: NIODeadline?

    init(timeouts: ConnectionTimeouts) {
        self.timeouts = timeouts
    }

    mutating func connectionOpened(now: NIODeadline) -> Action {
        phase = .awaitingRequest
        return set(now + timeouts.idle)
    }

    /// Raw bytes arrived from the client.
    mutating func bytesReceived(now: NIODeadline) -> Action {
        guard phase == .awaitingRequest else { return .none }
        phase = .readingHead
        return set(now + timeouts.header)
    }

    mutating func headReceived(now: NIODeadline) -> Action {
        phase = .exchanging(requestComplete: false, responseComplete: false)
        return set(now + timeouts.body)
    }

    mutating func requestEnded(now: NIODeadline) -> Action {
        switch phase {
        case .exchanging(_, responseComplete: true):
            phase = .awaitingRequest
            return set(now + timeouts.idle)
        default:
            phase = .exchanging(requestComplete: true, responseComplete: false)
            return set(nil)
        }
    }

    /// The last part of a response was written.
    mutating func responseEnded(now: NIODeadline) -> Action {
        switch phase {
        case .exchanging(requestComplete: false, _):
            // Answered before the body was read (e.g. 413): the body deadline still applies.
            phase = .exchanging(requestComplete: false, responseComplete: true)
            return .none
        default:
            phase = .awaitingRequest
            return set(now + timeouts.idle)
        }
    }

    func isExpired(now: NIODeadline) -> Bool {
        guard let deadline else { return false }
        return now >= deadline
    }

    private mutating func set(_ newDeadline: NIODeadline?) -> Action {
        deadline = newDeadline
        return newDeadline.map(Action.schedule) ?? .cancel
    }
}
