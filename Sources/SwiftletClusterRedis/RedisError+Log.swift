import SwiftletCore
import SwiftletRedis

/// Redis failures in log lines say what failed (timeout, connection, pool, server error
/// kind) instead of only the type's name. The message is sanitised like a database's:
/// a server error can quote a key or value.
extension RedisError: LoggableError {
    public var logDescription: String {
        switch code {
        case .server(let kind): "redis \(kind): \(ErrorLog.sanitise(message))"
        case .timeout: "redis timeout"
        case .connectionClosed: "redis connection: \(ErrorLog.sanitise(message))"
        case .poolExhausted: "redis pool exhausted"
        case .unavailable: "redis unavailable (reconnecting)"
        case .protocolViolation: "redis protocol: \(ErrorLog.sanitise(message))"
        case .shutDown: "redis client shut down"
        case .invalidConfiguration: "redis configuration: \(ErrorLog.sanitise(message))"
        }
    }
}
