import CryptoExtras
import Foundation
import Hummingbird
import HummingbirdTesting
import SwiftletSandbox
import SwiftletServer
import Testing

/// The pay sandbox behind Swiftlet's real request pipeline (`buildApplication`: request ids,
/// error mapping, body limits), mounted through the customization hook at its own prefix so
/// it cannot collide with however the application mounts its own.
@Suite("PaySandbox: behind the Swiftlet pipeline")
struct PaySandboxPipelineTests {
    static let prefix = "/test/wechatpay-pipeline"

    @Test func prepayPayAndNotifyThroughBuildApplication() async throws {
        let credentials = PaySandboxHarness.credentials
        let sandbox = try WeChatPaySandbox(credentials: credentials, notifyRetrySchedule: [.milliseconds(50)])
        let inbox = NotifyInbox(platformKey: try _RSA.Signing.PublicKey(pemRepresentation: credentials.platformPublicKeyPEM))
        let customization = SwiftletCustomization(routes: { router, _ in
            sandbox.register(on: router, at: Self.prefix)
            inbox.register(on: router)
        })
        try await TestStorage.withStorage(.sqlite) { storage in
            let app = try await TestApp.application(storage: storage, customization: customization)
            try await app.test(.live) { (client: any TestClientProtocol) async throws in
                let merchant = try PayMerchant(credentials: credentials, port: try #require(client.port), basePath: Self.prefix)
                let prepay = try await merchant.call(.POST, "/v3/pay/transactions/jsapi", body: merchant.prepayBody("order_pipe_1"))
                #expect(prepay.status == 200)
                #expect(prepay.verifies(with: merchant.platformKey))
                let refused = try await merchant.call(
                    .POST, "/v3/pay/transactions/jsapi", body: merchant.prepayBody("order_pipe_2"), tamper: .signature)
                #expect(refused.status == 401 && refused.code == "SIGN_ERROR")
                #expect(refused.verifies(with: merchant.platformKey))
                let prepayID = try #require(prepay.json["prepay_id"] as? String)
                #expect(try await merchant.pay(#"{"prepayId":"\#(prepayID)"}"#).status == 200)
                let notify = try #require(try await inbox.wait(for: 1).first)
                #expect(notify.verified)
                await sandbox.waitUntilIdle()
                #expect(sandbox.deliveries.map(\.status) == [204])
                let query = try await merchant.call(
                    .GET, "/v3/pay/transactions/out-trade-no/order_pipe_1?mchid=\(credentials.mchID)")
                #expect(query.json["trade_state"] as? String == "SUCCESS")
                #expect(query.verifies(with: merchant.platformKey))
            }
        }
        await sandbox.shutdown()
    }
}
