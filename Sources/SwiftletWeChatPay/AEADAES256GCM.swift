import Crypto
import Foundation

/// AEAD_AES_256_GCM as WeChat Pay uses it for notify resources and platform certificates.
///
/// Key, nonce and associated data are used as their UTF-8 bytes (never base64); the
/// ciphertext is base64(encrypted bytes ‖ 16-byte tag). Failures say nothing beyond
/// `decryptionFailed`: a wrong key and a tampered message must look the same.
public enum AEADAES256GCM {
    static let tagLength = 16
    static let nonceLength = 12
    static let keyLength = 32

    /// Decrypts and authenticates `ciphertextBase64`.
    public static func decrypt(ciphertextBase64: String, key: String, nonce: String, associatedData: String) throws -> [UInt8] {
        guard let blob = Data(base64Encoded: ciphertextBase64), blob.count >= tagLength else {
            throw WeChatPayError.decryptionFailed
        }
        let symmetricKey = try makeKey(key, error: .decryptionFailed)
        do {
            let box = try AES.GCM.SealedBox(
                nonce: try makeNonce(nonce, error: .decryptionFailed),
                ciphertext: blob.dropLast(tagLength), tag: blob.suffix(tagLength))
            let plaintext = try AES.GCM.open(box, using: symmetricKey, authenticating: Data(associatedData.utf8))
            return Array(plaintext)
        } catch {
            throw WeChatPayError.decryptionFailed
        }
    }

    /// Encrypts `plaintext`; the result is what WeChat Pay would put in `ciphertext`.
    /// Deterministic for a given nonce, so never reuse a nonce with the same key outside tests.
    public static func encrypt(plaintext: [UInt8], key: String, nonce: String, associatedData: String) throws -> String {
        let invalid = WeChatPayError.invalidConfiguration("AES-256-GCM needs a 32-byte key and a 12-byte nonce")
        let symmetricKey = try makeKey(key, error: invalid)
        let gcmNonce = try makeNonce(nonce, error: invalid)
        do {
            let box = try AES.GCM.seal(plaintext, using: symmetricKey, nonce: gcmNonce, authenticating: Data(associatedData.utf8))
            return (box.ciphertext + box.tag).base64EncodedString()
        } catch {
            throw invalid
        }
    }

    private static func makeKey(_ key: String, error: WeChatPayError) throws -> SymmetricKey {
        guard key.utf8.count == keyLength else { throw error }
        return SymmetricKey(data: Data(key.utf8))
    }

    private static func makeNonce(_ nonce: String, error: WeChatPayError) throws -> AES.GCM.Nonce {
        guard nonce.utf8.count == nonceLength, let value = try? AES.GCM.Nonce(data: Data(nonce.utf8)) else { throw error }
        return value
    }
}
