import Foundation
import SwiftletWeChat
import Testing

/// The official mini-program open-data sample (vector 06).
@Suite("WeChat user data (official vector)")
struct WeChatVectorTests {
    struct Vector: Decodable {
        struct Decrypt: Decodable {
            let appid: String
            let session_key: String
            let iv: String
            let encrypted_data: String
            let expected_plaintext: String
        }
        struct Signature: Decodable {
            let session_key: String
            let raw_data: String
            let expected_signature_sha1_hex: String
        }
        let decrypt: Decrypt
        let raw_data_signature: Signature
    }

    static func vector() throws -> Vector {
        let path = RepositoryPaths.root + "/Tests/SwiftletTests/Resources/vectors/06_miniprogram_userdata_aes128cbc.json"
        return try JSONDecoder().decode(Vector.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    @Test func decryptsTheOfficialSample() throws {
        let vector = try Self.vector().decrypt
        let object = try UserDataDecryptor.decrypt(
            encryptedData: vector.encrypted_data, iv: vector.iv, sessionKey: vector.session_key, appID: vector.appid)
        let expected = try JSONSerialization.jsonObject(with: Data(vector.expected_plaintext.utf8)) as? [String: Any]
        #expect(object["openId"] as? String == "oGZUI0egBJY1zhBYw2KhdUfwVJJE")
        #expect(object["unionId"] as? String == expected?["unionId"] as? String)
        #expect((object["watermark"] as? [String: Any])?["timestamp"] as? Int == 1477314187)
    }

    @Test func refusesAnotherAppsWatermark() throws {
        let vector = try Self.vector().decrypt
        #expect(throws: WeChatError.watermarkMismatch) {
            try UserDataDecryptor.decrypt(encryptedData: vector.encrypted_data, iv: vector.iv,
                                          sessionKey: vector.session_key, appID: "wx0000000000000000")
        }
    }

    @Test func wrongSessionKeyFails() throws {
        let vector = try Self.vector().decrypt
        #expect(throws: WeChatError.decryptionFailed) {
            try UserDataDecryptor.decrypt(encryptedData: vector.encrypted_data, iv: vector.iv,
                                          sessionKey: "HyVFkGl5F5OQWJZZaNzBBg==", appID: vector.appid)
        }
        #expect(throws: WeChatError.decryptionFailed) {
            try UserDataDecryptor.decrypt(encryptedData: "not base64!", iv: vector.iv, sessionKey: vector.session_key, appID: vector.appid)
        }
    }

    @Test func rawDataSignature() throws {
        let vector = try Self.vector().raw_data_signature
        #expect(UserDataDecryptor.isValidRawDataSignature(
            rawData: vector.raw_data, signature: vector.expected_signature_sha1_hex, sessionKey: vector.session_key))
        #expect(!UserDataDecryptor.isValidRawDataSignature(
            rawData: vector.raw_data + " ", signature: vector.expected_signature_sha1_hex, sessionKey: vector.session_key))
    }
}
