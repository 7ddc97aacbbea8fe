import Foundation

/// The official WeChat Pay SDK vectors 01–05 (see Resources/vectors/README.md), decoded
/// with only the fields the tests use.
enum WeChatPayVectors {
    static func load<T: Decodable>(_ file: String, as type: T.Type) throws -> T {
        let path = RepositoryPaths.root + "/Tests/SwiftletTests/Resources/vectors/" + file
        return try JSONDecoder().decode(T.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    struct Sign01: Decodable {
        struct Negative: Decodable {
            let message: String
            let signature_base64: String
            let must_verify: Bool
        }
        let private_key_pkcs8_pem: String
        let public_key_spki_pem: String
        let public_key_id: String
        let mchid_used_by_sdk_test: String
        let message: String
        let expected_signature_base64: String
        let negative_cases: [Negative]

        static func load() throws -> Self { try WeChatPayVectors.load("01_rsa_sha256_sign_go.json", as: Self.self) }
    }

    struct CertVsKey02: Decodable {
        let merchant_certificate_pem: String
        let merchant_certificate_serial: String
        let merchant_private_key_pkcs8_pem: String
        let wechatpay_certificate_pem: String
        let wechatpay_certificate_serial: String
        let wechatpay_public_key_pem: String
        let mchid: String
        let message: String
        let signature_base64: String

        static func load() throws -> Self { try WeChatPayVectors.load("02_rsa_verify_cert_vs_pubkey_java.json", as: Self.self) }
    }

    struct AES03: Decodable {
        struct Negative: Decodable {
            let what: String
            let api_v3_key: String?
            let associated_data: String?
            let nonce: String?
            let must_fail: Bool
        }
        let api_v3_key: String
        let nonce: String
        let associated_data: String
        let ciphertext_base64: String
        let expected_plaintext: String
        let negative_cases: [Negative]

        static func load() throws -> Self { try WeChatPayVectors.load("03_aes256gcm_java.json", as: Self.self) }
    }

    struct Certificates04: Decodable {
        struct Expected: Decodable {
            let serial_no: String
            let decrypted_plaintext_sha256_hex: String
            let decrypted_plaintext_starts_with: String
            let certificate_serial_hex_upper: String
        }
        let api_v3_key: String
        let response_body: String
        let expected: Expected
        let decrypted_certificate_pem: String

        static func load() throws -> Self { try WeChatPayVectors.load("04_certificates_download_decrypt_java.json", as: Self.self) }
    }

    struct Notify05: Decodable {
        struct Negative: Decodable {
            let what: String
            let body: String?
            let timestamp: String?
            let nonce: String?
            let signature: String?
            let must_verify: Bool

            enum CodingKeys: String, CodingKey {
                case what, body, must_verify
                case timestamp = "Wechatpay-Timestamp"
                case nonce = "Wechatpay-Nonce"
                case signature = "Wechatpay-Signature"
            }
        }
        let now_unix: Int
        let platform_certificate_pem: String
        let headers: [String: String]
        let body: String
        let expected_signed_message: String
        let expect_signature_valid: Bool
        let negative_cases: [Negative]

        static func load() throws -> Self { try WeChatPayVectors.load("05_notify_verify_decrypt_go.json", as: Self.self) }

        var now: Date { Date(timeIntervalSince1970: TimeInterval(now_unix)) }
    }
}
