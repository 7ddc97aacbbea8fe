import Foundation
import SwiftletWeChatPay
import Testing

/// AEAD_AES_256_GCM with the APIv3 key: vector 03.
@Suite("WeChat Pay AEAD_AES_256_GCM")
struct WeChatPayAEADTests {
    @Test func vector03DecryptsAndEncrypts() throws {
        let vector = try WeChatPayVectors.AES03.load()
        let plaintext = try AEADAES256GCM.decrypt(ciphertextBase64: vector.ciphertext_base64, key: vector.api_v3_key,
                                                  nonce: vector.nonce, associatedData: vector.associated_data)
        #expect(String(decoding: plaintext, as: UTF8.self) == vector.expected_plaintext)
        let ciphertext = try AEADAES256GCM.encrypt(plaintext: Array(vector.expected_plaintext.utf8), key: vector.api_v3_key,
                                                   nonce: vector.nonce, associatedData: vector.associated_data)
        #expect(ciphertext == vector.ciphertext_base64)
    }

    @Test func vector03NegativesFail() throws {
        let vector = try WeChatPayVectors.AES03.load()
        #expect(vector.negative_cases.count == 3)
        for negative in vector.negative_cases {
            #expect(negative.must_fail)
            #expect(throws: WeChatPayError.decryptionFailed, "\(negative.what)") {
                try AEADAES256GCM.decrypt(
                    ciphertextBase64: vector.ciphertext_base64, key: negative.api_v3_key ?? vector.api_v3_key,
                    nonce: negative.nonce ?? vector.nonce, associatedData: negative.associated_data ?? vector.associated_data)
            }
        }
    }

    @Test func malformedInputsFail() throws {
        let vector = try WeChatPayVectors.AES03.load()
        let cases: [(String, String, String)] = [
            ("not base64!", vector.api_v3_key, vector.nonce),
            ("AAAA", vector.api_v3_key, vector.nonce),                 // shorter than the tag
            (vector.ciphertext_base64, "testMchAPIv3Key0", vector.nonce), // 16-byte key
            (vector.ciphertext_base64, vector.api_v3_key, "short"),
        ]
        for (ciphertext, key, nonce) in cases {
            #expect(throws: WeChatPayError.decryptionFailed) {
                try AEADAES256GCM.decrypt(ciphertextBase64: ciphertext, key: key, nonce: nonce, associatedData: vector.associated_data)
            }
        }
        #expect(throws: WeChatPayError.self) {
            try AEADAES256GCM.encrypt(plaintext: [1], key: "short", nonce: vector.nonce, associatedData: "")
        }
    }

    @Test func emptyAssociatedDataRoundTrips() throws {
        let key = WeChatPayTestSupport.apiV3Key
        let sealed = try AEADAES256GCM.encrypt(plaintext: Array("支付成功".utf8), key: key, nonce: "abcdefghijkl", associatedData: "")
        let opened = try AEADAES256GCM.decrypt(ciphertextBase64: sealed, key: key, nonce: "abcdefghijkl", associatedData: "")
        #expect(String(decoding: opened, as: UTF8.self) == "支付成功")
    }
}
