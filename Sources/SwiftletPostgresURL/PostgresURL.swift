import Foundation

/// A parsed `postgres://user:password@host:port/database?sslmode=…` URL.
///
/// Parsed by hand (not by `PostgresClient`) so a bad URL is reported at start-up with
/// what is wrong, and so the password can be masked wherever the URL is shown.
public struct PostgresURL: Sendable, Equatable {
    /// libpq's sslmode values that make sense for a server.
    public enum SSLMode: String, Sendable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS if the server offers it, without verifying the certificate.
        case prefer
        /// TLS required, certificate not verified (libpq semantics).
        case require
        /// TLS required, certificate chain verified, host name not checked.
        case verifyCA = "verify-ca"
        /// TLS required, chain and host name verified.
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode
    /// PEM file with the CA to trust (`sslrootcert`), for the verify modes.
    public var sslRootCertificatePath: String?

    public init(parsing text: String) throws(PostgresURLError) {
        guard let components = URLComponents(string: text),
              let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme)
        else {
            throw .invalid("expected postgres://user[:password]@host[:port]/database")
        }
        guard let host = components.host, !host.isEmpty else { throw .invalid("missing host") }
        guard let user = components.user, !user.isEmpty else { throw .invalid("missing user name") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { throw .invalid("missing database name") }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw .invalid("port out of range") }

        var sslMode = SSLMode.prefer
        var rootCertificate: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, let mode = SSLMode(rawValue: value) else {
                    let allowed = SSLMode.allCases.map(\.rawValue).joined(separator: ", ")
                    throw .invalid("sslmode must be one of \(allowed)")
                }
                sslMode = mode
            case "sslrootcert":
                rootCertificate = item.value
            default:
                throw .invalid("unsupported parameter \"\(item.name)\" (supported: sslmode, sslrootcert)")
            }
        }
        self.host = host
        self.port = port
        self.username = user.removingPercentEncoding ?? user
        self.password = components.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database
        self.sslMode = sslMode
        self.sslRootCertificatePath = rootCertificate
    }

    /// Whether the host is this machine (`localhost`, `127.0.0.0/8`, `::1`): traffic
    /// that never leaves it cannot be read or altered on the way.
    public var isLoopbackHost: Bool {
        let host = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    /// The URL with the password replaced, safe for logs and `config check`.
    public var redacted: String {
        let credentials = password == nil ? username : "\(username):****"
        var text = "postgres://\(credentials)@\(host):\(port)/\(database)?sslmode=\(sslMode.rawValue)"
        if let sslRootCertificatePath { text += "&sslrootcert=\(sslRootCertificatePath)" }
        return text
    }
}

public enum PostgresURLError: Error, Equatable, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        switch self {
        case .invalid(let reason): "invalid PostgreSQL URL: \(reason)"
        }
    }
}
