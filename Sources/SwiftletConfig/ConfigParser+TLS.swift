import Foundation

extension ConfigParser {
    /// `http.tls.*`: a certificate needs its key (and the reverse), and every file must be
    /// readable now, so a typo fails at start instead of at the first handshake.
    mutating func parseTLS(_ config: inout SwiftletConfiguration) {
        var tls = config.http.tls
        tls.certificateFile = readableFile("http.tls.certificateFile")
        tls.keyFile = readableFile("http.tls.keyFile")
        tls.minimumVersion = choice("http.tls.minimumVersion", default: tls.minimumVersion)
        tls.clientCAFile = readableFile("http.tls.clientCaFile")
        tls.requireClientCertificateForAdmin = boolean(
            "http.tls.requireClientCertificateForAdmin", default: tls.requireClientCertificateForAdmin)
        if (tls.certificateFile == nil) != (tls.keyFile == nil) {
            let missing = tls.certificateFile == nil ? "http.tls.certificateFile" : "http.tls.keyFile"
            problems.append(.init(key: missing, message: "TLS needs both http.tls.certificateFile and http.tls.keyFile"))
        }
        if tls.clientCAFile != nil, !tls.isEnabled {
            problems.append(.init(key: "http.tls.clientCaFile", message: "client certificates need TLS (http.tls.certificateFile and keyFile)"))
        }
        config.http.tls = tls
    }

    mutating func readableFile(_ key: String) -> String? {
        guard let path = optional(key), !path.isEmpty else { return nil }
        guard FileManager.default.isReadableFile(atPath: path) else {
            problems.append(.init(key: key, message: "\(path) is not a readable file"))
            return nil
        }
        return path
    }
}
