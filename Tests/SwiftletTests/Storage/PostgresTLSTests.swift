import NIOSSL
import SwiftletPostgres
import SwiftletPostgresURL
import Testing

@Suite("PostgreSQL sslmode")
struct PostgresTLSTests {
    @Test func urlParsesEveryMode() throws {
        for mode in PostgresURL.SSLMode.allCases {
            let url = try PostgresURL(parsing: "postgres://app@db.internal/app?sslmode=\(mode.rawValue)")
            #expect(url.sslMode == mode)
        }
        let verified = try PostgresURL(parsing: "postgres://app:pw@db.internal:6432/app?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem")
        #expect(verified.sslMode == .verifyFull)
        #expect(verified.sslRootCertificatePath == "/etc/ssl/db-ca.pem")
        #expect(verified.redacted == "postgres://app:****@db.internal:6432/app?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem")
        #expect(try PostgresURL(parsing: "postgres://app@db.internal/app?sslmode=verify-ca").sslMode == .verifyCA)
        #expect(try PostgresURL(parsing: "postgres://app@db.internal/app").sslMode == .prefer, "libpq's default")
        #expect(throws: PostgresURLError.self) { try PostgresURL(parsing: "postgres://app@db.internal/app?sslmode=verify") }
    }

    @Test func loopbackHosts() throws {
        for host in ["127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "[::1]"] {
            #expect(try PostgresURL(parsing: "postgres://app@\(host)/app").isLoopbackHost, "\(host)")
        }
        for host in ["db.internal", "10.0.0.5", "127.0.0.1.example.com", "128.0.0.1", "[::2]"] {
            #expect(try !PostgresURL(parsing: "postgres://app@\(host)/app").isLoopbackHost, "\(host)")
        }
    }

    static func tls(_ query: String) throws -> PostgresTLS {
        PostgresTLS(url: try PostgresURL(parsing: "postgres://app@db.internal/app?\(query)"))
    }

    @Test func eachModeProducesItsTLSConfiguration() throws {
        guard case .disabled = try Self.tls("sslmode=disable") else { Issue.record("disable uses no TLS"); return }
        guard case .preferred(let prefer) = try Self.tls("sslmode=prefer") else { Issue.record("prefer"); return }
        #expect(prefer.certificateVerification == .none)
        guard case .required(let require) = try Self.tls("sslmode=require") else { Issue.record("require"); return }
        #expect(require.certificateVerification == .none)
        guard case .required(let verifyCA) = try Self.tls("sslmode=verify-ca") else { Issue.record("verify-ca"); return }
        #expect(verifyCA.certificateVerification == .noHostnameVerification)
        #expect(verifyCA.trustRoots == .default, "the system's roots without sslrootcert")
        guard case .required(let verifyFull) = try Self.tls("sslmode=verify-full") else { Issue.record("verify-full"); return }
        #expect(verifyFull.certificateVerification == .fullVerification)
        guard case .required(let pinned) = try Self.tls("sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem") else {
            Issue.record("verify-full with sslrootcert"); return
        }
        #expect(pinned.certificateVerification == .fullVerification)
        #expect(pinned.trustRoots == .file("/etc/ssl/db-ca.pem"))
    }
}
