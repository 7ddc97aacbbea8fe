import Crypto
import CryptoExtras
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SwiftletSandbox
import Testing

/// A path the sandboxes do not serve, or a method a path does not take, is answered in the
/// mounted service's own error shape, so an SDK pointed at a sandbox can report it; the rest
/// of the server keeps Swiftlet's shape.
@Suite("Sandboxes answer unknown routes as WeChat and WeChat Pay do")
struct SandboxRouteMissTests {
    struct Answer {
        let status: HTTPResponse.Status
        let headers: [String: String]
        let body: [UInt8]
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]) ?? [:] }
    }

    static func call(_ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ path: String) async throws -> Answer {
        try await client.execute(uri: path, method: method, headers: [:], body: nil) { response in
            var headers: [String: String] = [:]
            for field in response.headers { headers[field.name.canonicalName] = field.value }
            return Answer(status: response.status, headers: headers, body: Array(buffer: response.body))
        }
    }

    @Test func weChatSandboxAnswersWithWeChatErrcodes() async throws {
        try await TestApp.withLiveApp { client in
            for path in ["/sandbox/wechat/nope", "/sandbox/wechat/cgi-bin/no-such-api?access_token=x"] {
                let unknown = try await Self.call(client, .get, path)
                #expect(unknown.status == .ok, "WeChat answers errors with HTTP 200")
                #expect(unknown.json["errcode"] as? Int == 40066)
                #expect((unknown.json["errmsg"] as? String)?.hasPrefix("invalid url, rid: ") == true)
                #expect(unknown.json["error"] == nil)
            }
            let getOnPost = try await Self.call(client, .get, "/sandbox/wechat/cgi-bin/message/subscribe/send")
            #expect(getOnPost.status == .ok && getOnPost.json["errcode"] as? Int == 43002)
            let postOnGet = try await Self.call(client, .post, "/sandbox/wechat/cgi-bin/token")
            #expect(postOnGet.status == .ok && postOnGet.json["errcode"] as? Int == 43001)
        }
    }

    @Test func paySandboxAnswersWithSignedWeChatPayErrors() async throws {
        try await TestApp.withLiveApp { client in
            let credentials = try WeChatPaySandboxCredentials.loadOrCreate(
                directory: TestApp.secretsDirectory + "/secrets", appID: TestApp.config().wechat.appID)
            let key = try _RSA.Signing.PublicKey(pemRepresentation: credentials.platformPublicKeyPEM)

            let unknown = try await Self.call(client, .get, "/sandbox/wechatpay/v3/no/such/api")
            #expect(unknown.status == .notFound)
            #expect(unknown.json["code"] as? String == "RESOURCE_NOT_EXISTS" && unknown.json["message"] is String)
            let wrongMethod = try await Self.call(client, .get, "/sandbox/wechatpay/v3/pay/transactions/jsapi")
            #expect(wrongMethod.status == .badRequest && wrongMethod.json["code"] as? String == "INVALID_REQUEST")
            for answer in [unknown, wrongMethod] {
                #expect(answer.headers["request-id"]?.isEmpty == false)
                #expect(answer.headers["wechatpay-signature-type"] == "WECHATPAY2-SHA256-RSA2048")
                #expect(answer.headers["wechatpay-serial"] == credentials.platformCertificateSerialNumber,
                        "the default merchant is in certificate mode")
                #expect(PayCrypto.verifyWeChatPay(headers: answer.headers, body: answer.body, key: key))
            }
        }
    }

    @Test func everythingElseKeepsSwiftletsShape() async throws {
        try await TestApp.withLiveApp { client in
            for path in ["/sandbox/wechatpayx/v3/nope", "/api/v1/nope", "/sandbox"] {
                let answer = try await Self.call(client, .get, path)
                #expect(answer.status == .notFound, "\(path)")
                #expect((answer.json["error"] as? [String: Any])?["code"] as? String == "route.not_found", "\(path)")
            }
        }
        let withoutSandboxes = TestApp.config { config in
            config.wechat.sandbox = false
            config.wechat.appSecret = "a-real-looking-app-secret"
        }
        try await TestApp.withLiveApp(config: withoutSandboxes) { client in
            let answer = try await Self.call(client, .get, "/sandbox/wechat/nope")
            #expect((answer.json["error"] as? [String: Any])?["code"] as? String == "route.not_found",
                    "with the sandboxes off nothing answers in their shape")
        }
    }
}
