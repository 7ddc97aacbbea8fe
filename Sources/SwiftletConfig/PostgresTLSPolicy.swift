import SwiftletPostgresURL

/// Whether the PostgreSQL connection's TLS is good enough for the profile.
///
/// In production, a PostgreSQL host that is not this machine must be reached with
/// `sslmode=verify-full`: the other modes encrypt but accept any certificate (or, for
/// `verify-ca`, any certificate from the CA whatever host it names), so a machine on the
/// path could read every query, personal data included. An operator who cannot verify
/// yet opts out explicitly with `storage.postgres.allowUnverifiedTLS`, and every start
/// says so in the log. Plain text (`sslmode=disable`) to a remote host has no opt-out.
public enum PostgresTLSPolicy: Sendable, Equatable {
    /// Nothing to say: not production, no PostgreSQL URL, a loopback host, or verify-full.
    case satisfied
    /// Start-up is refused, for this reason.
    case refused(String)
    /// Accepted because of the opt-out key; the reason is logged as a warning at start.
    case acceptedByOptOut(String)
}

extension SwiftletConfiguration {
    public static let postgresTLSOptOutKey = "storage.postgres.allowUnverifiedTLS"

    public var postgresTLSPolicy: PostgresTLSPolicy {
        guard profile == .production,
              let url = storage.postgresURL.flatMap({ try? PostgresURL(parsing: $0) }),
              !url.isLoopbackHost, url.sslMode != .verifyFull
        else { return .satisfied }
        let mode = url.sslMode.rawValue
        if url.sslMode == .disable {
            return .refused("sslmode=disable to a remote host is refused in production; use sslmode=verify-full")
        }
        if storage.postgresAllowUnverifiedTLS {
            return .acceptedByOptOut(
                "the PostgreSQL server's certificate is not fully verified (sslmode=\(mode)) because \(Self.postgresTLSOptOutKey) is true; use sslmode=verify-full")
        }
        return .refused(
            "production needs sslmode=verify-full for a non-loopback PostgreSQL host (found sslmode=\(mode): the server's certificate or host name is not checked); set \(Self.postgresTLSOptOutKey)=true to accept it knowingly")
    }
}
