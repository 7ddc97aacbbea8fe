/// Everything the Redis client throws.
///
/// Server replies carry Redis's own error kind (the first word of the message, e.g.
/// `WRONGTYPE`, `NOSCRIPT`, `NOAUTH`, `READONLY`), so callers can branch on it without
/// parsing text; client-side failures have their own codes.
public struct RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The server answered with an error; `kind` is its first word.
        case server(kind: String)
        /// No reply within the command timeout; the connection was closed, since a late
        /// reply would otherwise be taken as the answer to a later command.
        case timeout
        /// The connection closed (or could not be opened) before the reply arrived.
        case connectionClosed
        /// Every pooled connection was busy for the whole wait timeout.
        case poolExhausted
        /// The pool is backing off after failed connection attempts.
        case unavailable
        /// The server sent bytes that are not RESP, or a reply of an unexpected shape.
        case protocolViolation
        /// The client was shut down.
        case shutDown
        /// The configuration cannot work (a malformed URL).
        case invalidConfiguration
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// A server error reply (`-KIND message`).
    public init(serverReply text: String) {
        let kind = text.prefix(while: { $0 != " " })
        self.init(.server(kind: String(kind)), text)
    }

    /// The server's error kind, if this is a server reply.
    public var serverKind: String? {
        if case .server(let kind) = code { return kind }
        return nil
    }

    public var description: String {
        switch code {
        case .server: "redis: \(message)"
        default: "redis \(code): \(message)"
        }
    }
}
