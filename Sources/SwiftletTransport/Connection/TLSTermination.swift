import NIOCore
import NIOSSL

/// TLS terminated by the server itself: the certificate, the oldest version accepted and,
/// optionally, the CAs whose client certificates are verified (mTLS).
///
/// Client certificates are requested but optional at the handshake — a mini-program and
/// an operator's tool share the listener — and a certificate that is presented must chain
/// to one of the configured CAs or the handshake fails. Which requests need one is decided
/// per route (`OperatorCertificateMiddleware`), from what the connection handler saw at
/// the handshake.
public struct TLSTermination: Sendable {
    public enum MinimumVersion: Sendable {
        case tls12, tls13
    }

    let context: NIOSSLContext
    /// Whether client certificates are verified on this listener.
    public let verifiesClientCertificates: Bool

    public init(certificateFile: String, keyFile: String, minimumVersion: MinimumVersion, clientCAFile: String?) throws {
        let chain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = minimumVersion == .tls13 ? .tlsv13 : .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        if let clientCAFile {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(clientCAFile))
            configuration.certificateVerification = .optionalVerification
        }
        self.context = try NIOSSLContext(configuration: configuration)
        self.verifiesClientCertificates = clientCAFile != nil
    }

    func makeHandler() -> NIOSSLServerHandler {
        NIOSSLServerHandler(context: context)
    }
}

/// What the server tells routes about the client certificate of a request's connection.
///
/// A header set by the connection handler on every request handed to the router while
/// client certificates are verified; whatever a client sent under this name is removed
/// first, so it cannot be forged.
public enum ClientCertificateHeader {
    public static let name = "X-Swiftlet-Client-Certificate"
    /// The value when the connection presented a certificate that passed validation.
    public static let verified = "verified"
}
