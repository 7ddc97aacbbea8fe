/// A database error that is not a domain outcome, as the engines throw it out of their
/// boundary: what it is (engine, kind, SQLSTATE or SQLite result) and a sanitised
/// message. The driver's own error stays inside for the engine to classify (unique
/// violations), and is never printed: every description of this type is the safe one.
public struct StorageFailure: LoggableError, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// `sqlite` or `postgres`.
    public let engine: String
    /// The driver's category, e.g. `server` or `constraintCheckFailed`.
    public let kind: String
    /// PostgreSQL's SQLSTATE (e.g. `23514`), when the server answered.
    public let sqlState: String?
    /// The database's message with literals masked (`ErrorLog.sanitise`).
    public let message: String
    /// The driver's error, for the engine's own classification only.
    public let underlying: any Error

    public init(engine: String, kind: String, sqlState: String?, message: String, underlying: any Error) {
        self.engine = engine
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
        self.underlying = underlying
    }

    public var logDescription: String {
        var text = "\(engine) \(kind)"
        if let sqlState { text += " sqlstate=\(sqlState)" }
        if !message.isEmpty { text += ": \(message)" }
        return text
    }

    public var description: String { logDescription }
    public var debugDescription: String { logDescription }
    /// No children: `dump` and reflection must not reach the driver's error either.
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
