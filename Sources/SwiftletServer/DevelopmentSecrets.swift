import Crypto
import Foundation
import JWTKit
import SwiftletCore

/// Secrets generated on first start outside production, kept under
/// `<data.directory>/secrets/` (mode 0600) so sessions survive restarts without anyone
/// having to invent a secret. Production refuses to run on these (config validation).
enum DevelopmentSecrets {
    static func hs256Secret(dataDirectory: String) throws -> [UInt8] {
        let text = try loadOrCreate(dataDirectory, "jwt-hs256.secret") {
            RandomID.randomBytes(48).map { String(format: "%02x", $0) }.joined()
        }
        return Array(text.trimmingCharacters(in: .whitespacesAndNewlines).utf8)
    }

    static func es256PrivateKeyPEM(dataDirectory: String) throws -> String {
        try loadOrCreate(dataDirectory, "jwt-es256.pem") {
            P256.Signing.PrivateKey().pemRepresentation
        }
    }

    private static func loadOrCreate(_ dataDirectory: String, _ name: String, make: () -> String) throws -> String {
        let directory = dataDirectory + "/secrets"
        let path = directory + "/" + name
        if let existing = try? String(contentsOfFile: path, encoding: .utf8), !existing.isEmpty {
            return existing
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let value = make()
        guard FileManager.default.createFile(atPath: path, contents: Data(value.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw SwiftletError(.internalFailure, code: "config.secret_write_failed", message: "cannot write \(path)")
        }
        return value
    }
}
