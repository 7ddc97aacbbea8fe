import AsyncHTTPClient
import Foundation
import HummingbirdTesting
import NIOCore
import NIOSSL
import SwiftletConfig
import SwiftletServer
import Testing

/// TLS terminated by the server, tried with real clients: curl (OpenSSL) and the Swift
/// client. Certificates are made by the openssl command for each run.
@Suite("TLS termination", .serialized)
struct TLSTests {
    static func withTLSServer(
        _ adjust: @escaping (inout SwiftletConfiguration, TestCertificates) -> Void = { _, _ in },
        _ body: @escaping @Sendable (_ port: Int, _ certificates: TestCertificates, _ box: LaneBox) async throws -> Void
    ) async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.directory.remove() }
        let box = LaneBox()
        var customization = TestRoutes.customization
        customization.onComponents = { components in box.lane.withLock { $0 = components.inlineLane } }
        try await TestStorage.withStorage(.sqlite) { storage in
            let config = TestApp.config { config in
                config.http.tls.certificateFile = certificates.path("server.pem")
                config.http.tls.keyFile = certificates.path("server.key")
                adjust(&config, certificates)
            }
            let app = try await TestApp.application(storage: storage, config: config, customization: customization)
            try await app.test(.live) { (client: any TestClientProtocol) async throws in
                try await body(try #require(client.port), certificates, box)
            }
        }
    }

    @Test("an inline answer over TLS is encrypted and correct (curl and the Swift client)")
    func inlineOverTLS() async throws {
        try await Self.withTLSServer { port, certificates, box in
            let before = box.answered
            let result = try await Curl.run(["--cacert", certificates.path("ca.pem"), "https://127.0.0.1:\(port)/health/live"])
            #expect(result.status == 0, "\(result.error)")
            #expect(result.output == #"{"status":"ok"}"#)
            #expect(box.answered == before + 1, "answered by the inline lane")

            // The router path too, and through the Swift client.
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(certificates.path("ca.pem")))
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
            for path in ["/health/live", "/health/ready"] {
                let response = try await client.execute(HTTPClientRequest(url: "https://127.0.0.1:\(port)\(path)"), timeout: .seconds(5))
                #expect(response.status == .ok, "\(path)")
                let body = try await response.body.collect(upTo: 4096)
                #expect(String(buffer: body).contains(#""status":"ok""#))
            }
            try await client.shutdown()

            // Plain HTTP on the TLS port gets no plain-text answer.
            let plain = try await RawConnection.open(port: port).dribble(
                ["GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"], interval: .milliseconds(10), limit: .seconds(2))
            #expect(!plain.received.contains("HTTP/1.1 200"))
            #expect(!plain.received.contains("status"))
        }
    }

    @Test("TLS 1.3 by default; 1.2 only when allowed")
    func minimumVersion() async throws {
        try await Self.withTLSServer { port, certificates, _ in
            let old = try await Curl.run(["--cacert", certificates.path("ca.pem"), "--tls-max", "1.2", "https://127.0.0.1:\(port)/health/live"])
            #expect(old.status != 0, "a TLS 1.2 client is refused")
        }
        try await Self.withTLSServer({ config, _ in config.http.tls.minimumVersion = .v1_2 }) { port, certificates, _ in
            let old = try await Curl.run(["--cacert", certificates.path("ca.pem"), "--tls-max", "1.2", "https://127.0.0.1:\(port)/health/live"])
            #expect(old.status == 0, "\(old.error)")
        }
    }

    @Test("mTLS: operator routes need a verified client certificate; others do not; the marker cannot be forged")
    func clientCertificates() async throws {
        try await Self.withTLSServer({ config, certificates in
            config.http.tls.clientCAFile = certificates.path("ca.pem")
        }) { port, certificates, _ in
            let url = "https://127.0.0.1:\(port)"
            let ca = ["--cacert", certificates.path("ca.pem")]
            let withCertificate = ca + ["--cert", certificates.path("client.pem"), "--key", certificates.path("client.key")]

            let anonymous = try await Curl.run(ca + ["\(url)/health/live"])
            #expect(anonymous.output == #"{"status":"ok"}"#, "mini-program clients need no certificate")

            let refused = try await Curl.run(ca + ["\(url)/admin/v1/keys"])
            #expect(refused.httpStatus == 403)
            #expect(refused.output.contains("admin.client_certificate_required"))

            let forged = try await Curl.run(ca + ["-H", "X-Swiftlet-Client-Certificate: verified", "\(url)/admin/v1/keys"])
            #expect(forged.httpStatus == 403)
            // The router skips empty segments; so does the check.
            let doubled = try await Curl.run(ca + ["--path-as-is", "\(url)//admin//v1/keys"])
            #expect(doubled.httpStatus == 403, "\(doubled.output)")

            // With a certificate the request reaches the admin-key check.
            let admitted = try await Curl.run(withCertificate + ["\(url)/admin/v1/keys"])
            #expect(admitted.httpStatus == 401, "\(admitted.output)")
            #expect(!admitted.output.contains("client_certificate"))

            let rogue = try await Curl.run(ca + ["--cert", certificates.path("rogue.pem"), "--key", certificates.path("rogue.key"), "\(url)/admin/v1/keys"])
            #expect(rogue.status != 0, "a certificate from another CA fails the handshake")
        }
    }
}

/// A CA, a server certificate for 127.0.0.1, a client certificate from the CA and one
/// from an unrelated CA.
struct TestCertificates: Sendable {
    let directory: TemporaryDirectory

    func path(_ name: String) -> String { directory.path + "/" + name }

    static func make() async throws -> TestCertificates {
        let certificates = TestCertificates(directory: try TemporaryDirectory())
        let dir = certificates.directory.path
        let script = """
        set -e
        cd '\(dir)'
        key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null; }
        key ca.key; openssl req -x509 -new -key ca.key -subj /CN=Test-CA -days 2 -out ca.pem 2>/dev/null
        key rogue-ca.key; openssl req -x509 -new -key rogue-ca.key -subj /CN=Rogue-CA -days 2 -out rogue-ca.pem 2>/dev/null
        issue() { # name subject ca extension
          key "$1.key"; openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
          printf '%s\\n' "$4" > "$1.ext"
          openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -days 2 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
        }
        issue server /CN=localhost ca "subjectAltName=IP:127.0.0.1,DNS:localhost"
        issue client /CN=operator ca "extendedKeyUsage=clientAuth"
        issue rogue /CN=intruder rogue-ca "extendedKeyUsage=clientAuth"
        """
        guard try await ChildProcess.run("/bin/sh", ["-c", script]).status == 0 else { throw TestSetupError("openssl could not make test certificates") }
        return certificates
    }
}

/// The curl command, with the HTTP status written after the body.
enum Curl {
    struct Result {
        let status: Int32
        let output: String
        let httpStatus: Int?
        let error: String
    }

    static func run(_ arguments: [String]) async throws -> Result {
        let result = try await ChildProcess.run("/usr/bin/curl", ["-sS", "--max-time", "30", "-w", "\n%{http_code}"] + arguments)
        var lines = result.standardOutput.components(separatedBy: "\n")
        let code = lines.popLast().flatMap { Int($0) }
        return Result(status: result.status, output: lines.joined(separator: "\n"),
                      httpStatus: code == 0 ? nil : code, error: result.standardError)
    }
}
