import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOHTTP1
import NIOPosix
import SwiftletConfig
import SwiftletCore
import SwiftletHTTP
import SwiftletSandbox
import SwiftletServer
import SwiftletTransport
import Testing

/// Real-WeChat-Pay configuration (merchant keys from files, no embedded sandbox) pointed
/// at a separate server that speaks WeChat Pay's protocol: the same code path must work.
@Suite("Real merchant configuration against a protocol-compatible server")
struct RealMerchantConfigTests {
    enum Mode: String, CaseIterable, Sendable { case publicKey, certificate }

    @Test(arguments: Mode.allCases)
    func payFlow(_ mode: Mode) async throws {
        let credentials = PaySandboxHarness.credentials
        let sandbox = try WeChatPaySandbox(
            credentials: credentials, notifyRetrySchedule: [.milliseconds(50)],
            keyMode: mode == .publicKey ? .publicKey : .certificate)
        let router = Router(context: SwiftletRequestContext.self)
        sandbox.register(on: router)
        let wechatPay = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        let files = try TemporaryDirectory()
        defer { files.remove() }

        try await wechatPay.test(.live) { (remote: any TestClientProtocol) async throws in
            let port = try LoopbackPorts.free()
            let remotePort = try #require(remote.port)
            try credentials.merchantPrivateKeyPEM.write(toFile: files.path + "/apiclient_key.pem", atomically: true, encoding: .utf8)
            try credentials.platformPublicKeyPEM.write(toFile: files.path + "/pub_key.pem", atomically: true, encoding: .utf8)
            try credentials.platformCertificatePEM.write(toFile: files.path + "/platform.pem", atomically: true, encoding: .utf8)
            let config = CommerceHarness.config { config in
                config.http.port = port
                config.wechat.appID = credentials.appID
                config.wechatPay.baseURL = "http://127.0.0.1:\(remotePort)\(WeChatPaySandbox.pathPrefix)"
                config.wechatPay.mchID = credentials.mchID
                config.wechatPay.merchantSerialNumber = credentials.merchantSerialNumber
                config.wechatPay.merchantPrivateKeyFile = files.path + "/apiclient_key.pem"
                config.wechatPay.apiV3Key = credentials.apiV3Key
                config.wechatPay.notifyURL = "http://127.0.0.1:\(port)/api/v1/pay/wechat/notify"
                switch mode {
                case .publicKey:
                    config.wechatPay.publicKeyID = credentials.publicKeyID
                    config.wechatPay.publicKeyFile = files.path + "/pub_key.pem"
                case .certificate:
                    config.wechatPay.platformCertificateFiles = [files.path + "/platform.pem"]
                }
            }
            try await TestStorage.withStorage(.sqlite) { storage in
                let adminKey = "swk_" + RandomID.base32(byteCount: 20)
                _ = try await storage.adminKeys.create(name: "admin", keyHash: SecretToken.hash(adminKey), now: Date())
                let app = try await TestApp.application(storage: storage, config: config, customization: SwiftletCustomization())
                let server = Task { try await app.runService() }
                defer { server.cancel() }
                let api = LiveHTTPClient(port: port)
                for _ in 0..<200 {
                    if (try? await api.call(.GET, "/health/ready"))?.status == 200 { break }
                    try await Task.sleep(for: .milliseconds(25))
                }
                #expect(try await api.call(.POST, "/sandbox/wechatpay/pay", json: "{}").status == 404,
                        "no embedded pay sandbox with a real merchant configured")
                let product = try await api.json(.POST, "/admin/v1/products", json: """
                    {"title":"Tea","skus":[{"title":"100 g","priceFen":1234,"stock":3}]}
                    """, token: adminKey)
                let sku = try #require((product["skus"] as? [[String: Any]])?.first?["id"] as? String)
                let token = try #require(try await api.json(.POST, "/api/v1/auth/wechat/login", json: #"{"code":"olga:1"}"#)["accessToken"] as? String)
                let order = try await api.json(.POST, "/api/v1/orders", json: #"{"items":[{"skuId":"\#(sku)","quantity":1}]}"#,
                                               token: token, key: "k1")
                let orderID = try #require(order["id"] as? String)
                let payment = try #require(try await api.json(.POST, "/api/v1/orders/\(orderID)/pay", token: token)["payment"] as? [String: Any])
                #expect(payment["signType"] as? String == "RSA")
                let package = try #require(payment["package"] as? String)
                try sandbox.pay(prepayID: String(package.dropFirst("prepay_id=".count)))
                var status = ""
                for _ in 0..<100 where status != "paid" {
                    status = try await api.json(.GET, "/api/v1/orders/\(orderID)", token: token)["status"] as? String ?? ""
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(status == "paid")
                // Acknowledged when the answer reaches the sandbox, a moment after the order is paid.
                for _ in 0..<100 where !sandbox.deliveries.contains(where: { $0.acknowledged }) {
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(sandbox.deliveries.contains { $0.acknowledged }, "\(sandbox.deliveries.map { "\($0.url) \($0.status ?? 0) \($0.error ?? "")" })")
                server.cancel()
                _ = await server.result
            }
            await sandbox.shutdown()
        }
    }
}
