import CryptoExtras
import Foundation
import Hummingbird
import HummingbirdTesting
import SwiftletWeChatPay
import Testing

/// The client over real HTTP against a minimal fake (mounted under a path prefix, as the
/// embedded sandbox is): signing, answer verification, error mapping, certificate mode.
@Suite("WeChat Pay client over HTTP")
struct WeChatPayClientHTTPTests {
    enum Mode { case publicKey, certificates }

    func withFake(
        _ mode: Mode, merchantKeyPEM: String? = nil,
        _ body: @escaping @Sendable (WeChatPayClient, FakeWeChatPayServer) async throws -> Void
    ) async throws {
        let merchant = try WeChatPayVectors.Sign01.load()
        let fake = try await FakeWeChatPayServer(
            merchantPublicKey: try _RSA.Signing.PublicKey(pemRepresentation: merchant.public_key_spki_pem),
            signingSerial: mode == .publicKey ? WeChatPayTestSupport.publicKeyID : nil, apiV3Key: WeChatPayTestSupport.apiV3Key)
        let router = Router(context: BasicRequestContext.self)
        fake.register(on: router)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { (client: any TestClientProtocol) async throws in
            let port = try #require(client.port)
            var configuration = try WeChatPayConfiguration(
                appID: "wx4f4bc4dec97d474b", mchID: "1230000109", merchantSerialNumber: merchant.public_key_id,
                merchantPrivateKeyPEM: merchantKeyPEM ?? merchant.private_key_pkcs8_pem, apiV3Key: WeChatPayTestSupport.apiV3Key,
                publicKeyID: mode == .publicKey ? WeChatPayTestSupport.publicKeyID : nil,
                publicKeyPEM: mode == .publicKey ? fake.platformPublicKeyPEM : nil,
                baseURL: { "http://127.0.0.1:\(port)\(FakeWeChatPayServer.prefix)" }, timeout: .seconds(5))
            configuration.certificateRefreshMinimumInterval = .seconds(60)
            try await body(try WeChatPayClient(configuration: configuration), fake)
        }
    }

    @Test func publicKeyModeCalls() async throws {
        try await withFake(.publicKey) { client, fake in
            let prepay = JSAPIPrepayRequest(description: "QQ公仔", outTradeNo: "T1", amountTotal: 100,
                                            payerOpenID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", notifyURL: "https://example.com/notify")
            #expect(try await client.jsapiPrepay(prepay) == "wx201410272009395522657a690389285100")
            let order = try await client.queryTransaction(outTradeNo: "T|1*x")
            #expect(order.outTradeNo == "T|1*x" && order.tradeState == "NOTPAY" && order.amountTotal == 100)
            try await client.closeTransaction(outTradeNo: "T1")
            let refund = try await client.refund(WeChatPayRefundRequest(outTradeNo: "T1", outRefundNo: "R1", refundAmount: 50, totalAmount: 100))
            #expect(refund.outRefundNo == "R1" && refund.status == "PROCESSING")
            #expect(try await client.queryRefund(outRefundNo: "R1").status == "SUCCESS")

            let received = fake.received.withLock { $0 }
            #expect(received.count == 5)
            #expect(received[1].target == "/fakepay/v3/pay/transactions/out-trade-no/T%7C1%2Ax?mchid=1230000109")
            for request in received {
                #expect(request.headers["wechatpay-serial"] == WeChatPayTestSupport.publicKeyID)
                #expect(request.headers["accept"] == "application/json")
                #expect(request.headers["user-agent"]?.isEmpty == false)
                #expect((request.headers["content-type"] == "application/json") == (request.method == "POST"))
            }
            #expect(fake.certificateDownloads == 0)
        }
    }

    @Test func errorsAndTamperedAnswers() async throws {
        try await withFake(.publicKey) { client, _ in
            await #expect(throws: WeChatPayError.orderNotFound) { try await client.queryTransaction(outTradeNo: "missing") }
            await #expect(throws: WeChatPayError.signatureInvalid) { try await client.queryTransaction(outTradeNo: "tampered") }
        }
        let otherKey = try _RSA.Signing.PrivateKey(keySize: .bits2048).pemRepresentation
        try await withFake(.publicKey, merchantKeyPEM: otherKey) { client, _ in
            await #expect(throws: WeChatPayError.api(status: 401, code: "SIGN_ERROR", message: "签名错误，请检查后再试")) {
                try await client.queryTransaction(outTradeNo: "T1")
            }
        }
    }

    @Test func certificateModeDownloadsOnceOnDemand() async throws {
        try await withFake(.certificates) { client, fake in
            // Nothing held yet: the first answers name an unknown serial, which triggers
            // one shared download; concurrent callers wait for it.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<4 {
                    group.addTask { _ = try await client.queryTransaction(outTradeNo: "T\(index)") }
                }
                try await group.waitForAll()
            }
            #expect(fake.certificateDownloads == 1)
            #expect(client.verifier.contains(serial: fake.certificateSerial))

            let certificates = try await client.downloadCertificates()
            #expect(certificates.map(\.serialNumber) == [fake.certificateSerial])
            #expect(certificates.first?.pem == fake.certificatePEM)
            #expect(fake.certificateDownloads == 2)

            // Another unknown serial right after a refresh is refused without a download:
            // forged serials cannot make the client hammer /v3/certificates.
            let headers = WeChatPayNotifyHeaders(timestamp: String(Int(Date().timeIntervalSince1970)), nonce: "n",
                                                 signature: "c2lnbmF0dXJl", serial: "FFFF0001")
            await #expect(throws: WeChatPayError.unknownSerial("FFFF0001")) {
                try await client.parseNotification(headers: headers, body: Array("{}".utf8))
            }
            #expect(fake.certificateDownloads == 2)
        }
    }
}
