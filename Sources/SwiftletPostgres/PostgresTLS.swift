import NIOSSL
import PostgresNIO
import SwiftletPostgresURL

/// What the client does about TLS for a URL's `sslmode`, with libpq's meaning of each
/// mode: whether TLS is used, and how the server's certificate is checked.
///
/// `prefer` and `require` encrypt but accept any certificate, so they do not stop a
/// machine in the middle; `verify-ca` checks the chain against the trust roots
/// (`sslrootcert`, else the system's); `verify-full` also checks that the certificate
/// names the host. Production needs `verify-full` for a remote host (see the
/// configuration's validation).
public enum PostgresTLS: Sendable {
    /// Plain TCP.
    case disabled
    /// TLS when the server offers it, plain TCP otherwise.
    case preferred(TLSConfiguration)
    /// TLS or no connection.
    case required(TLSConfiguration)

    public init(url: PostgresURL) {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let root = url.sslRootCertificatePath {
            tls.trustRoots = .file(root)
        }
        switch url.sslMode {
        case .disable:
            self = .disabled
        case .prefer:
            tls.certificateVerification = .none
            self = .preferred(tls)
        case .require:
            tls.certificateVerification = .none
            self = .required(tls)
        case .verifyCA:
            tls.certificateVerification = .noHostnameVerification
            self = .required(tls)
        case .verifyFull:
            tls.certificateVerification = .fullVerification
            self = .required(tls)
        }
    }

    /// The same choice in the driver's terms.
    var client: PostgresClient.Configuration.TLS {
        switch self {
        case .disabled: .disable
        case .preferred(let tls): .prefer(tls)
        case .required(let tls): .require(tls)
        }
    }

    /// The same choice for a connection made without the pool (`PostgresReadConnections`).
    func connection() throws -> PostgresConnection.Configuration.TLS {
        switch self {
        case .disabled: .disable
        case .preferred(let tls): .prefer(try NIOSSLContext(configuration: tls))
        case .required(let tls): .require(try NIOSSLContext(configuration: tls))
        }
    }
}
