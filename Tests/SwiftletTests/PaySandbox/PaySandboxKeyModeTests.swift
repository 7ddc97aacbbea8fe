import Foundation
import SwiftletSandbox
import Testing

/// The sandbox merchant's key mode decides, as on WeChat Pay, which `Wechatpay-Serial` a
/// request may name, which serial answers carry, and which one notifies carry (switching
/// gradually while migrating).
@Suite("PaySandbox: certificate, public-key and migrating merchants")
struct PaySandboxKeyModeTests {
    /// The serial of an answer to a prepay naming `named` (nil: no header), or the error code.
    static func answer(_ merchant: PayMerchant, named: String?, order: String) async throws -> (status: Int, serial: String?, code: String?) {
        let response = try await merchant.call(
            .POST, "/v3/pay/transactions/jsapi", body: merchant.prepayBody(order),
            extraHeaders: named.map { [("Wechatpay-Serial", $0)] } ?? [])
        #expect(response.verifies(with: merchant.platformKey), "every answer is signed, errors too")
        #expect(response.headers["wechatpay-signature-type"] == "WECHATPAY2-SHA256-RSA2048")
        return (Int(response.status), response.headers["wechatpay-serial"], response.code)
    }

    @Test func certificateMerchantAnswersUnderThePlatformCertificateAndRefusesThePublicKeyID() async throws {
        try await PaySandboxHarness.run(keyMode: .certificate) { merchant, _, inbox in
            let certificate = merchant.credentials.platformCertificateSerialNumber
            let unnamed = try await Self.answer(merchant, named: nil, order: "mode_cert_1")
            #expect(unnamed.status == 200 && unnamed.serial == certificate)
            let named = try await Self.answer(merchant, named: certificate, order: "mode_cert_2")
            #expect(named.status == 200 && named.serial == certificate)
            let publicKey = try await Self.answer(merchant, named: merchant.credentials.publicKeyID, order: "mode_cert_3")
            #expect(publicKey.status == 400 && publicKey.code == "INVALID_REQUEST")

            let prepayID = try await merchant.prepay("mode_cert_4")
            #expect(try await merchant.pay(#"{"prepayId":"\#(prepayID)"}"#).status == 200)
            let notifies = try await inbox.wait(for: 1)
            #expect(notifies.map { $0.headers["wechatpay-serial"] } == [certificate])
        }
    }

    @Test func publicKeyMerchantAnswersUnderThePublicKeyIDAndRefusesTheCertificate() async throws {
        try await PaySandboxHarness.run(keyMode: .publicKey) { merchant, _, inbox in
            let publicKeyID = merchant.credentials.publicKeyID
            let unnamed = try await Self.answer(merchant, named: nil, order: "mode_pub_1")
            #expect(unnamed.status == 200 && unnamed.serial == publicKeyID)
            let named = try await Self.answer(merchant, named: publicKeyID, order: "mode_pub_2")
            #expect(named.status == 200 && named.serial == publicKeyID)
            let certificate = try await Self.answer(
                merchant, named: merchant.credentials.platformCertificateSerialNumber, order: "mode_pub_3")
            #expect(certificate.status == 400 && certificate.code == "INVALID_REQUEST")
            let unknown = try await Self.answer(merchant, named: "PUB_KEY_ID_00000000000000000000000000000000", order: "mode_pub_4")
            #expect(unknown.status == 400 && unknown.code == "INVALID_REQUEST")

            let prepayID = try await merchant.prepay("mode_pub_5")
            #expect(try await merchant.pay(#"{"prepayId":"\#(prepayID)"}"#).status == 200)
            let notifies = try await inbox.wait(for: 1)
            #expect(notifies.map { $0.headers["wechatpay-serial"] } == [publicKeyID])
        }
    }

    @Test func migratingMerchantAcceptsBothAndItsNotifiesMoveToThePublicKeyOverTheWindow() async throws {
        try await PaySandboxHarness.run(keyMode: .migrating(window: .seconds(7 * 86_400))) { merchant, sandbox, inbox in
            let certificate = merchant.credentials.platformCertificateSerialNumber
            let publicKeyID = merchant.credentials.publicKeyID
            #expect(try await Self.answer(merchant, named: nil, order: "mode_mig_1").serial == certificate,
                    "answers that name no serial keep the certificate while migrating")
            #expect(try await Self.answer(merchant, named: publicKeyID, order: "mode_mig_2").serial == publicKeyID)
            #expect(try await Self.answer(merchant, named: certificate, order: "mode_mig_3").serial == certificate)

            func notifySerials(_ count: Int, prefix: String) async throws -> [String?] {
                let before = inbox.received.count
                for index in 0..<count {
                    let prepayID = try await merchant.prepay("\(prefix)_\(index)")
                    #expect(try await merchant.pay(#"{"prepayId":"\#(prepayID)"}"#).status == 200)
                    _ = try await inbox.wait(for: before + index + 1)
                }
                return inbox.received.dropFirst(before).map { $0.headers["wechatpay-serial"] }
            }
            #expect(try await notifySerials(2, prefix: "mig_start") == [certificate, certificate],
                    "at the start of the migration notifies are certificate-signed")
            sandbox.advanceClock(by: .seconds(Int64(3.5 * 86_400) + 1))
            let halfway = try await notifySerials(4, prefix: "mig_half")
            #expect(halfway.filter { $0 == publicKeyID }.count == 2 && halfway.filter { $0 == certificate }.count == 2,
                    "halfway through, half the notifies are public-key-signed: \(halfway)")
            #expect(inbox.received.allSatisfy { $0.verified }, "both keys verify")
            sandbox.advanceClock(by: .seconds(4 * 86_400))
            #expect(try await notifySerials(2, prefix: "mig_done") == [publicKeyID, publicKeyID])
            #expect(try await Self.answer(merchant, named: nil, order: "mode_mig_4").serial == publicKeyID,
                    "after the window the merchant is in public-key mode")
            #expect(try await Self.answer(merchant, named: certificate, order: "mode_mig_5").code == "INVALID_REQUEST")
        }
    }

    @Test(arguments: [WeChatPaySandbox.KeyMode.certificate, .publicKey])
    func notifiesCarryTheHeadersAndEnvelopeOfTheOfficialSDKVector(_ mode: WeChatPaySandbox.KeyMode) async throws {
        let vector = try WeChatPayVectors.Notify05.load()
        try await PaySandboxHarness.run(keyMode: mode) { merchant, _, inbox in
            let prepayID = try await merchant.prepay("mode_vector_1")
            #expect(try await merchant.pay(#"{"prepayId":"\#(prepayID)"}"#).status == 200)
            let notify = try #require(try await inbox.wait(for: 1).first)
            for name in vector.headers.keys {
                #expect(notify.headers[name.lowercased()] != nil, "the vector's \(name) header")
            }
            #expect(notify.headers["wechatpay-signature-type"] == "WECHATPAY2-SHA256-RSA2048")
            let serial = try #require(notify.headers["wechatpay-serial"])
            if mode == .certificate {
                #expect(serial.allSatisfy { $0.isHexDigit && !$0.isLowercase }, "uppercase hex like the vector's \(vector.headers["Wechatpay-Serial"] ?? "")")
                #expect(serial == merchant.credentials.platformCertificateSerialNumber)
            } else {
                #expect(serial.hasPrefix("PUB_KEY_ID_") && serial.dropFirst(11).count == 32 && serial.dropFirst(11).allSatisfy(\.isNumber))
            }
            #expect(notify.headers["wechatpay-timestamp"]?.allSatisfy(\.isNumber) == true)
            #expect(notify.headers["wechatpay-nonce"]?.count == vector.headers["Wechatpay-Nonce"]?.count)
            #expect(notify.headers["wechatpay-signature"].flatMap { Data(base64Encoded: $0) }?.count == 256)

            func keys(_ object: Any?) -> Set<String> { Set((object as? [String: Any])?.keys.map { $0 } ?? []) }
            let theirs = try JSONSerialization.jsonObject(with: Data(vector.body.utf8))
            let ours = try JSONSerialization.jsonObject(with: Data(notify.body))
            #expect(keys(ours) == keys(theirs))
            #expect(keys((ours as? [String: Any])?["resource"]) == keys((theirs as? [String: Any])?["resource"]))
        }
    }
}
