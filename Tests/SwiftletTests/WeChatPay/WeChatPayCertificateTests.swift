import Crypto
import Foundation
import SwiftletWeChatPay
import Testing

/// `GET /v3/certificates` processing (the function the client runs on the answer): vector 04.
@Suite("WeChat Pay certificate download")
struct WeChatPayCertificateTests {
    @Test func vector04DecryptsParsesAndMatchesSerial() throws {
        let vector = try WeChatPayVectors.Certificates04.load()
        let certificates = try WeChatPayCertificateDownload.process(body: Array(vector.response_body.utf8), apiV3Key: vector.api_v3_key)
        let certificate = try #require(certificates.first)
        #expect(certificates.count == 1)
        #expect(certificate.serialNumber == vector.expected.serial_no)
        #expect(certificate.pem.hasPrefix(vector.expected.decrypted_plaintext_starts_with))
        #expect(certificate.pem == vector.decrypted_certificate_pem)
        let digest = SHA256.hash(data: Data(certificate.pem.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined()
        #expect(digest == vector.expected.decrypted_plaintext_sha256_hex)
        #expect(certificate.effectiveTime == "2023-09-19T23:15:58+08:00")
        #expect(certificate.expireTime == "2028-09-17T23:15:58+08:00")
        #expect(try WeChatPayPlatformCertificate.parse(pem: certificate.pem).serial == vector.expected.certificate_serial_hex_upper)

        let verifier = WeChatPayVerifier()
        verifier.add(certificates)
        #expect(verifier.contains(serial: vector.expected.serial_no))
    }

    @Test func vector04WrongKeyOrSwappedSerialFails() throws {
        let vector = try WeChatPayVectors.Certificates04.load()
        #expect(throws: WeChatPayError.decryptionFailed) {
            try WeChatPayCertificateDownload.process(body: Array(vector.response_body.utf8), apiV3Key: "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gc")
        }
        let swapped = vector.response_body.replacingOccurrences(of: "\"serial_no\": \"5DEA10EF", with: "\"serial_no\": \"6DEA10EF")
        #expect(throws: WeChatPayError.self) {
            try WeChatPayCertificateDownload.process(body: Array(swapped.utf8), apiV3Key: vector.api_v3_key)
        }
        #expect(throws: WeChatPayError.self) {
            try WeChatPayCertificateDownload.process(body: Array(#"{"data":[]}"#.utf8), apiV3Key: vector.api_v3_key)
        }
        #expect(throws: WeChatPayError.self) {
            try WeChatPayCertificateDownload.process(body: Array("<html>".utf8), apiV3Key: vector.api_v3_key)
        }
    }

    @Test func vector05CertificateSerialHasNoLeadingZeroByte() throws {
        // D7CE… has its top bit set, so DER stores a 0x00 byte first; the serial must not show it.
        let vector = try WeChatPayVectors.Notify05.load()
        #expect(try WeChatPayPlatformCertificate.parse(pem: vector.platform_certificate_pem).serial == "D7CE59D1F522D701")
    }
}
