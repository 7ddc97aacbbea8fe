import Crypto
import CryptoExtras
import Foundation

/// Decrypts mini-program open data (`encryptedData` from `wx.getUserInfo` and friends):
/// AES-128-CBC with PKCS#7 padding, key = the user's session_key, then checks the
/// watermark so data encrypted for another mini-program is refused.
public enum UserDataDecryptor {
    /// Returns the decrypted JSON object.
    public static func decrypt(encryptedData: String, iv: String, sessionKey: String, appID: String) throws -> [String: Any] {
        guard let key = Data(base64Encoded: sessionKey), key.count == 16,
              let ivBytes = Data(base64Encoded: iv), ivBytes.count == 16,
              let ciphertext = Data(base64Encoded: encryptedData), !ciphertext.isEmpty, ciphertext.count % 16 == 0
        else {
            throw WeChatError.decryptionFailed
        }
        let plaintext: Data
        do {
            plaintext = try AES._CBC.decrypt(ciphertext, using: SymmetricKey(data: key), iv: AES._CBC.IV(ivBytes: ivBytes))
        } catch {
            throw WeChatError.decryptionFailed
        }
        guard let object = try? JSONSerialization.jsonObject(with: plaintext) as? [String: Any] else {
            throw WeChatError.decryptionFailed
        }
        guard let watermark = object["watermark"] as? [String: Any], watermark["appid"] as? String == appID else {
            throw WeChatError.watermarkMismatch
        }
        return object
    }

    /// `hex(sha1(rawData + sessionKey))`, compared with the `signature` the client sent
    /// next to `rawData` (session key as its base64 text, as WeChat specifies).
    public static func isValidRawDataSignature(rawData: String, signature: String, sessionKey: String) -> Bool {
        let digest = Insecure.SHA1.hash(data: Data((rawData + sessionKey).utf8))
        let hex = digest.map { String(format: "%02x", $0) }.joined()
        return hex == signature.lowercased()
    }
}
