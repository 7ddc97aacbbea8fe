import Crypto
import Foundation

/// What a refresh hands out in exchange for one presented refresh token, reproducible by
/// whoever presents that token again — the basis of the reuse grace window.
///
/// A mini-program often fires several requests when its access token expires, and each
/// may refresh with the same refresh token. The second must receive the very pair the
/// first received, yet storage keeps refresh tokens only as hashes. So at rotation the
/// successor refresh token is sealed (AES-256-GCM) under a key derived (HKDF-SHA256) from
/// the *presented* token, and the sealed box is stored on the presented token's row. Only
/// a caller holding the presented token can have it opened: the database alone (hashes and
/// sealed boxes) yields no usable token, and no server-side secret exists that could leak
/// or need rotating. The access token's `jti` is derived from the presented token the same
/// way, and its `iat` is the stored rotation instant, so the repeated pair carries identical
/// claims — the identical string with HS256, an equally valid signature with ES256 (whose
/// signatures are randomised).
struct RefreshSuccession {
    private let sealingKey: SymmetricKey
    /// `jti` of the access token issued with the successor.
    let accessTokenID: String

    init(presented refreshToken: String) {
        let material = SymmetricKey(data: Data(refreshToken.utf8))
        sealingKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: material, info: Data("swiftlet refresh successor".utf8), outputByteCount: 32)
        let tokenID = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: material, info: Data("swiftlet refresh successor jti".utf8), outputByteCount: 16)
        accessTokenID = tokenID.withUnsafeBytes { RandomID.encodeBase32(Array($0)) }
    }

    /// The successor refresh token sealed for storage (base64 of nonce, ciphertext, tag).
    func seal(_ successor: String) throws -> String {
        guard let combined = try AES.GCM.seal(Data(successor.utf8), using: sealingKey).combined else {
            throw SwiftletError(.internalFailure, code: "auth.seal_failed", message: "The refresh successor could not be sealed.")
        }
        return combined.base64EncodedString()
    }

    /// The successor sealed by `seal`, or nil if `sealed` was sealed for another token.
    func open(_ sealed: String) -> String? {
        guard let combined = Data(base64Encoded: sealed),
              let box = try? AES.GCM.SealedBox(combined: combined),
              let plain = try? AES.GCM.open(box, using: sealingKey)
        else { return nil }
        return String(decoding: plain, as: UTF8.self)
    }
}
