import Foundation

extension WeChatPaySandboxCredentials {
    /// Where `exportFiles` put each key and certificate.
    public struct ExportedFiles: Sendable, Equatable {
        /// The merchant's private key (`apiclient_key.pem`).
        public let merchantPrivateKey: String
        /// The merchant's certificate (`apiclient_cert.pem`).
        public let merchantCertificate: String
        /// The WeChat Pay public key (`pub_key.pem`), for public-key mode.
        public let platformPublicKey: String
        /// The platform certificate, for certificate mode.
        public let platformCertificate: String
    }

    /// Writes the keys and certificates as the PEM files WeChat hands a merchant, so an SDK
    /// configured with file paths can use the sandbox merchant unchanged. Mode 0600 in a
    /// 0700 directory: they are development secrets, but secrets.
    public func exportFiles(to directory: String) throws -> ExportedFiles {
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        func write(_ name: String, _ pem: String) throws -> String {
            let path = directory + "/" + name
            try? FileManager.default.removeItem(atPath: path)
            guard FileManager.default.createFile(atPath: path, contents: Data(pem.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
            return path
        }
        return ExportedFiles(
            merchantPrivateKey: try write("apiclient_key.pem", merchantPrivateKeyPEM),
            merchantCertificate: try write("apiclient_cert.pem", merchantCertificatePEM),
            platformPublicKey: try write("pub_key.pem", platformPublicKeyPEM),
            platformCertificate: try write("platform_cert.pem", platformCertificatePEM))
    }
}
