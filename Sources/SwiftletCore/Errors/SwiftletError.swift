/// The one error type that crosses layer boundaries.
///
/// Every failure a client can see is a `SwiftletError` with a stable, machine-readable
/// `code` (clients branch on it; it never changes once published) and a human message.
/// The `kind` says what class of failure it is so the HTTP layer can pick a status
/// without the core knowing about HTTP.
public struct SwiftletError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What class of failure this is; the HTTP layer maps it to a status code.
    public enum Kind: String, Sendable, Equatable {
        case invalidInput
        case unauthenticated
        case forbidden
        case notFound
        case methodNotAllowed
        case conflict
        case payloadTooLarge
        case unsupportedMediaType
        case rateLimited
        case unavailable
        /// An upstream this server forwards to failed (502).
        case badGateway
        case timeout
        case internalFailure
    }

    public let kind: Kind
    /// Stable machine code, dotted: `area.reason` (e.g. `request.malformed_json`).
    public let code: String
    /// Message for the client. Must never carry secrets or internal detail.
    public let message: String
    /// For a transient failure: after how many seconds a retry may succeed. The HTTP
    /// layer sends it as `Retry-After`, so clients back off instead of hammering a node
    /// whose database is busy or away.
    public let retryAfterSeconds: Int?
    /// Further response header fields that explain the refusal (a rate limit's
    /// `RateLimit-Policy` and `RateLimit`); names as HTTP spells them.
    public let headers: [String: String]

    public init(_ kind: Kind, code: String, message: String, retryAfterSeconds: Int? = nil, headers: [String: String] = [:]) {
        self.kind = kind
        self.code = code
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
        self.headers = headers
    }

    public var description: String { "\(code): \(message)" }
}

extension SwiftletError {
    public static func invalid(_ code: String, _ message: String) -> SwiftletError {
        .init(.invalidInput, code: code, message: message)
    }

    public static func notFound(_ code: String, _ message: String) -> SwiftletError {
        .init(.notFound, code: code, message: message)
    }

    public static func conflict(_ code: String, _ message: String) -> SwiftletError {
        .init(.conflict, code: code, message: message)
    }

    public static func unavailable(_ code: String, _ message: String) -> SwiftletError {
        .init(.unavailable, code: code, message: message)
    }

    /// How long a client is asked to wait before retrying after `storage.unavailable`:
    /// long enough for a lock holder to finish or a pool to reconnect, short enough that
    /// a user does not notice the outage once it is over.
    public static let storageRetryAfterSeconds = 2

    /// The database is busy past its timeout or cannot be reached: a transient 503 with
    /// `Retry-After`, never a 500. Raised by the engines at their boundary.
    public static func storageUnavailable(_ message: String) -> SwiftletError {
        .init(.unavailable, code: "storage.unavailable", message: message, retryAfterSeconds: storageRetryAfterSeconds)
    }
}
