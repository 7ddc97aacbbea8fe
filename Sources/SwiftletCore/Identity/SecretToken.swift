import Crypto
import Foundation

/// High-entropy bearer secrets (refresh tokens, admin keys): 256 random bits, shown to
/// their owner once and stored only as a SHA-256 hash.
///
/// A plain hash (no salt, no bcrypt) is right here: the secrets are random, not chosen
/// by people, so there is nothing to brute-force, and lookups by hash stay one index probe.
public enum SecretToken {
    /// 32 random bytes, base64url without padding (43 characters), with a readable prefix.
    public static func generate(prefix: String) -> String {
        let bytes = RandomID.randomBytes(32)
        return prefix + Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Hex SHA-256, what storage keeps and looks up.
    public static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
