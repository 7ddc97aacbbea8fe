import Foundation

/// The shape of `redis.url`, checked when configuration loads.
///
/// The configuration module does not depend on the Redis client, so it checks here what
/// an operator can get wrong in the text (scheme, host, port, database number) and
/// reports it with the key and environment variable at start, rather than as a
/// connection failure later. It also renders the URL with its password masked for
/// `config check`.
public struct RedisURLShape: Sendable, Equatable {
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case notARedisURL
        case missingHost
        case badPort(Int)
        case badDatabase(String)
        case unexpectedQuery

        public var description: String {
            switch self {
            case .notARedisURL: "expected redis://[user:password@]host[:port][/db] or rediss://… (TLS)"
            case .missingHost: "a host is required (redis://host[:port][/db])"
            case .badPort(let port): "port must be from 1 to 65535, got \(port)"
            case .badDatabase(let text): "the database after the host must be a non-negative integer, got \"\(text)\""
            case .unexpectedQuery: "query parameters and fragments are not understood; use redis://[user:password@]host[:port][/db]"
            }
        }
    }

    /// True for `rediss://`.
    public let usesTLS: Bool
    public let host: String
    /// Nil when the URL names none (Redis's 6379).
    public let port: Int?
    /// The database selected after connecting; 0 when the URL names none.
    public let database: Int
    /// The user as written (percent-encoded), if any.
    public let percentEncodedUser: String?
    public let hasPassword: Bool

    /// True for `localhost` and loopback addresses, where TLS protects nothing.
    public var isLoopbackHost: Bool {
        let name = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return name == "localhost" || name.hasPrefix("127.") || name == "::1"
    }

    public init(parsing text: String) throws(Problem) {
        guard let components = URLComponents(string: text),
              let scheme = components.scheme?.lowercased(), scheme == "redis" || scheme == "rediss"
        else { throw .notARedisURL }
        guard components.query == nil, components.fragment == nil else { throw .unexpectedQuery }
        guard let host = components.host, !host.isEmpty else { throw .missingHost }
        if let port = components.port, !(1...65535).contains(port) { throw .badPort(port) }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        var database = 0
        if !path.isEmpty {
            guard path.allSatisfy(\.isASCII), let number = Int(path), number >= 0, !path.hasPrefix("+") else {
                throw .badDatabase(path)
            }
            database = number
        }
        usesTLS = scheme == "rediss"
        self.host = host
        port = components.port
        self.database = database
        percentEncodedUser = components.percentEncodedUser.flatMap { $0.isEmpty ? nil : $0 }
        hasPassword = components.password != nil
    }

    /// The URL with its password replaced by `****`: safe to print and log.
    public var redacted: String {
        var text = usesTLS ? "rediss://" : "redis://"
        if percentEncodedUser != nil || hasPassword {
            text += percentEncodedUser ?? ""
            if hasPassword { text += ":****" }
            text += "@"
        }
        text += host
        if let port { text += ":\(port)" }
        if database != 0 { text += "/\(database)" }
        return text
    }
}
