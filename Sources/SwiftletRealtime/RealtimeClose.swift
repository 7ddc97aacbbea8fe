/// Why the server closes a realtime connection, as the WebSocket close code and reason
/// the client receives. Codes 4000–4499 mean "reconnect (with `since`)"; 4500–4999 mean
/// "do not reconnect until the cause is fixed" (a new token, a fixed client). The table
/// in docs/realtime.md is generated from the same list (a test compares them).
public enum RealtimeClose: Sendable, Equatable, CaseIterable {
    /// The node is shutting down: reconnect (another node will answer).
    case serverShutdown
    /// The client did not read fast enough; its outbound queue passed its byte bound.
    case slowConsumer
    /// Nothing heard from the client for two ping intervals.
    case stale
    /// The server could not read the inbox (database away): reconnect with back-off.
    case unavailable
    /// No valid token: none in time, or a bad one.
    case unauthorized
    /// The token expired and no fresh one came within the grace period.
    case tokenExpired
    /// The client broke the protocol (not JSON, a binary frame, an unmasked frame).
    case badFrame
    /// The user already has as many connections as allowed.
    case tooManyConnections
    /// The session was ended (logout, revoked by an operator, refresh-token reuse).
    case sessionRevoked
    /// A frame larger than the server accepts (the standard code 1009).
    case frameTooLarge
    /// The client closed; the server answers with the same normal closure (1000).
    case normal

    public var code: UInt16 {
        switch self {
        case .serverShutdown: 4000
        case .slowConsumer: 4001
        case .stale: 4002
        case .unavailable: 4003
        case .unauthorized: 4500
        case .tokenExpired: 4501
        case .badFrame: 4502
        case .tooManyConnections: 4503
        case .sessionRevoked: 4504
        case .frameTooLarge: 1009
        case .normal: 1000
        }
    }

    /// The close reason sent with the code (at most 123 bytes, as the protocol allows).
    public var reason: String {
        switch self {
        case .serverShutdown: "server shutting down; reconnect"
        case .slowConsumer: "too slow to read; reconnect with since"
        case .stale: "no pong for two ping intervals; reconnect"
        case .unavailable: "inbox unavailable; reconnect later"
        case .unauthorized: "unauthorized"
        case .tokenExpired: "token expired; refresh, then reconnect"
        case .badFrame: "bad frame"
        case .tooManyConnections: "too many connections for this user"
        case .sessionRevoked: "session revoked"
        case .frameTooLarge: "frame too large"
        case .normal: "bye"
        }
    }

    /// Whether a client should reconnect by itself (with `since` and back-off).
    public var reconnects: Bool {
        switch self {
        case .serverShutdown, .slowConsumer, .stale, .unavailable: true
        case .unauthorized, .tokenExpired, .badFrame, .tooManyConnections, .sessionRevoked, .frameTooLarge, .normal: false
        }
    }
}
