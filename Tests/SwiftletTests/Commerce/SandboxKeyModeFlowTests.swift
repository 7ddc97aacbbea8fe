import Foundation
import SwiftletConfig
import Testing

/// `wechatpay.sandboxKeyMode` sets the sandbox merchant's key mode and configures the
/// embedded client to match, so paying works end to end in each mode, with every notify
/// verified under the serial that mode gives it.
@Suite("Paying against the sandbox in each key mode")
struct SandboxKeyModeFlowTests {
    @Test(arguments: SwiftletConfiguration.WeChatPay.SandboxKeyMode.allCases)
    func payFlow(_ mode: SwiftletConfiguration.WeChatPay.SandboxKeyMode) async throws {
        let config = CommerceHarness.config { config in
            config.wechatPay.sandboxKeyMode = mode
            config.wechatPay.sandboxMigrationSeconds = 86_400
        }
        try await CommerceHarness.run(.sqlite, config: config) { app in
            let (_, sku) = try await app.product(priceFen: 1200, stock: 4)
            let credentials = app.sandbox.credentials
            let expected = mode == .publicKey ? credentials.publicKeyID : credentials.platformCertificateSerialNumber
            for buyer in ["alice", "bob"] {
                let (_, order, prepayID) = try await app.orderAndPrepay(buyer: buyer, sku: sku)
                try app.sandbox.pay(prepayID: prepayID)
                #expect(try await app.eventually { try await app.order(order.id).status == "paid" }, "\(mode)")
                // The order is paid once the notify is stored; the sandbox marks the delivery
                // acknowledged when the answer reaches it, a moment later.
                #expect(try await app.eventually {
                    app.sandbox.deliveries.contains { $0.outTradeNo == order.outTradeNo && $0.acknowledged && $0.serial == expected }
                }, "at the start of a migration notifies keep the certificate")
            }
            if mode == .migrating {
                // Halfway through the window half the notifies are public-key-signed: the
                // client must verify both kinds.
                app.sandbox.advanceClock(by: .seconds(43_201))
                for buyer in ["carol", "dave"] {
                    let (_, order, prepayID) = try await app.orderAndPrepay(buyer: buyer, sku: sku)
                    try app.sandbox.pay(prepayID: prepayID)
                    #expect(try await app.eventually { try await app.order(order.id).status == "paid" }, "migrating, \(buyer)")
                }
                let serials = Set(app.sandbox.deliveries.suffix(2).map(\.serial))
                #expect(serials == [credentials.publicKeyID, credentials.platformCertificateSerialNumber])
            }
            #expect(try await app.eventually { app.sandbox.deliveries.allSatisfy { $0.acknowledged } })
        }
    }

    @Test func keyModeIsReadCaseInsensitivelyAndRefusesOthers() async throws {
        for (raw, mode) in [("publicKey", SwiftletConfiguration.WeChatPay.SandboxKeyMode.publicKey),
                            ("PUBLICKEY", .publicKey), ("certificate", .certificate), ("migrating", .migrating)] {
            let config = try await ConfigurationLoader.load(ConfigurationSources(environment: ["SWIFTLET_WECHATPAY_SANDBOX_KEY_MODE": raw]))
            #expect(config.wechatPay.sandboxKeyMode == mode)
        }
        await #expect(throws: (any Error).self) {
            try await ConfigurationLoader.load(ConfigurationSources(environment: ["SWIFTLET_WECHATPAY_SANDBOX_KEY_MODE": "both"]))
        }
    }
}
