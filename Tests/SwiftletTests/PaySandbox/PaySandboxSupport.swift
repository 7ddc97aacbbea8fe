import AsyncHTTPClient
import Crypto
import CryptoExtras
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import SwiftletHTTP
import SwiftletSandbox
import SwiftletTransport
import Synchronization
import Testing

/// Raw WeChat Pay v3 crypto written in the test (independent of the sandbox and the client).
enum PayCrypto {
    static func sign(_ message: String, key: _RSA.Signing.PrivateKey) throws -> String {
        try key.signature(for: Data(message.utf8), padding: .insecurePKCS1v1_5).rawRepresentation.base64EncodedString()
    }

    static func verify(_ signature: String, _ message: [UInt8], key: _RSA.Signing.PublicKey) -> Bool {
        guard let raw = Data(base64Encoded: signature) else { return false }
        return key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: raw), for: message, padding: .insecurePKCS1v1_5)
    }

    /// Verifies `ts\nnonce\nbody\n` with the `Wechatpay-*` headers.
    static func verifyWeChatPay(headers: [String: String], body: [UInt8], key: _RSA.Signing.PublicKey) -> Bool {
        guard let timestamp = headers["wechatpay-timestamp"], let nonce = headers["wechatpay-nonce"],
              let signature = headers["wechatpay-signature"] else { return false }
        return verify(signature, Array("\(timestamp)\n\(nonce)\n".utf8) + body + [0x0A], key: key)
    }

    static func decrypt(_ resource: [String: Any], apiV3Key: String) throws -> [String: Any] {
        let text = try #require(resource["ciphertext"] as? String)
        let blob = try #require(Data(base64Encoded: text))
        let nonce = try #require(resource["nonce"] as? String)
        let aad = try #require(resource["associated_data"] as? String)
        let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: Data(nonce.utf8)), ciphertext: blob.dropLast(16), tag: blob.suffix(16))
        let plain = try AES.GCM.open(box, using: SymmetricKey(data: Data(apiV3Key.utf8)), authenticating: Data(aad.utf8))
        return try #require(try JSONSerialization.jsonObject(with: plain) as? [String: Any])
    }
}

/// One answer from the sandbox, with lowercased header names.
struct PayResponse {
    let status: Int
    let headers: [String: String]
    let body: [UInt8]

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]) ?? [:] }
    var code: String? { json["code"] as? String }

    func verifies(with key: _RSA.Signing.PublicKey) -> Bool {
        PayCrypto.verifyWeChatPay(headers: headers, body: body, key: key)
    }
}

/// A hand-written merchant: signs requests like §4.1 and sends them over real HTTP.
struct PayMerchant {
    enum Tamper { case none, signature, serial, staleTimestamp, bodyAfterSigning, fullPath, noAuthorization }

    let credentials: WeChatPaySandboxCredentials
    let root: String
    let basePath: String
    let key: _RSA.Signing.PrivateKey
    let platformKey: _RSA.Signing.PublicKey

    init(credentials: WeChatPaySandboxCredentials, port: Int, basePath: String = WeChatPaySandbox.pathPrefix) throws {
        self.credentials = credentials
        self.root = "http://127.0.0.1:\(port)"
        self.basePath = basePath
        self.key = try _RSA.Signing.PrivateKey(pemRepresentation: credentials.merchantPrivateKeyPEM)
        self.platformKey = try _RSA.Signing.PublicKey(pemRepresentation: credentials.platformPublicKeyPEM)
    }

    var notifyURL: String { root + "/merchant/notify" }

    func call(
        _ method: HTTPMethod, _ path: String, body: String? = nil, tamper: Tamper = .none, extraHeaders: [(String, String)] = []
    ) async throws -> PayResponse {
        let timestamp = String(Int(Date().timeIntervalSince1970) - (tamper == .staleTimestamp ? 301 : 0))
        let nonce = UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let signedPath = tamper == .fullPath ? basePath + path : path
        var signature = try PayCrypto.sign("\(method.rawValue)\n\(signedPath)\n\(timestamp)\n\(nonce)\n\(body ?? "")\n", key: key)
        if tamper == .signature { signature = "WECHATPAY/SIGNTEST/" + signature.dropFirst(19) }
        let serial = tamper == .serial ? String(repeating: "A", count: 40) : credentials.merchantSerialNumber
        var request = HTTPClientRequest(url: root + basePath + path)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "swiftlet-pay-sandbox-tests")
        if tamper != .noAuthorization {
            request.headers.add(name: "Authorization", value: "WECHATPAY2-SHA256-RSA2048 mchid=\"\(credentials.mchID)\",nonce_str=\"\(nonce)\",timestamp=\"\(timestamp)\",serial_no=\"\(serial)\",signature=\"\(signature)\"")
        }
        for (name, value) in extraHeaders { request.headers.add(name: name, value: value) }
        if var body {
            if tamper == .bodyAfterSigning { body = body.replacingOccurrences(of: "100", with: "1") }
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = Array(buffer: try await response.body.collect(upTo: 1 << 20))
        var headers: [String: String] = [:]
        for header in response.headers { headers[header.name.lowercased()] = header.value }
        return PayResponse(status: Int(response.status.code), headers: headers, body: bytes)
    }

    func prepayBody(_ outTradeNo: String, total: Int = 100, description: String = "Swiftlet 测试商品", extra: String = "") -> String {
        """
        {"appid":"\(credentials.appID)","mchid":"\(credentials.mchID)","description":"\(description)","out_trade_no":"\(outTradeNo)",\
        "notify_url":"\(notifyURL)","amount":{"total":\(total),"currency":"CNY"},"payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}\(extra)}
        """
    }

    func prepay(_ outTradeNo: String, total: Int = 100) async throws -> String {
        let response = try await call(.POST, "/v3/pay/transactions/jsapi", body: prepayBody(outTradeNo, total: total))
        #expect(response.status == 200, "prepay: \(String(decoding: response.body, as: UTF8.self))")
        return try #require(response.json["prepay_id"] as? String)
    }

    func query(_ outTradeNo: String) async throws -> PayResponse {
        try await call(.GET, "/v3/pay/transactions/out-trade-no/\(outTradeNo)?mchid=\(credentials.mchID)")
    }

    /// Simulates the user paying (the sandbox control endpoint, unsigned).
    func pay(_ json: String) async throws -> PayResponse {
        var request = HTTPClientRequest(url: root + basePath + "/pay")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: json))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        return PayResponse(status: Int(response.status.code), headers: [:],
                           body: Array(buffer: try await response.body.collect(upTo: 1 << 20)))
    }
}

/// The merchant's notify endpoint in the test app: verifies like a real merchant (invalid
/// signature → 401), records, and answers the scripted statuses (then 204); a scripted 0
/// means "answer 204 after one second" (a merchant slower than the sandbox's timeout).
final class NotifyInbox: Sendable {
    struct Received: Sendable {
        let headers: [String: String]
        let body: [UInt8]
        let verified: Bool
    }

    private let state = Mutex<(received: [Received], script: [Int])>(([], []))
    let platformKey: _RSA.Signing.PublicKey

    init(platformKey: _RSA.Signing.PublicKey, script: [Int] = []) {
        self.platformKey = platformKey
        state.withLock { $0.script = script }
    }

    var received: [Received] { state.withLock { $0.received } }

    func register(on router: Router<SwiftletRequestContext>) {
        router.post("/merchant/notify") { request, _ -> Response in
            let body = Array(buffer: try await request.body.collect(upTo: 1 << 20))
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let verified = PayCrypto.verifyWeChatPay(headers: headers, body: body, key: self.platformKey)
            let status = self.state.withLock { state -> Int in
                state.received.append(Received(headers: headers, body: body, verified: verified))
                return state.script.isEmpty ? 204 : state.script.removeFirst()
            }
            if status == 0 { try await Task.sleep(for: .seconds(3)) }
            let answer = verified ? (status == 0 ? 204 : status) : 401
            return Response(status: .init(code: answer), headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: answer < 300 ? "" : #"{"code":"FAIL","message":"失败"}"#)))
        }
    }

    /// Waits until `count` notifies arrived (or fails after `timeout`).
    func wait(for count: Int, timeout: Duration = .seconds(5)) async throws -> [Received] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let list = received
            if list.count >= count { return list }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("expected \(count) notifies, got \(received.count)")
        return received
    }
}

enum PaySandboxHarness {
    static let appID = "wx00000000sandbox"
    /// RSA key generation is slow in debug builds: one set for the whole suite.
    static let credentials: WeChatPaySandboxCredentials = {
        do { return try WeChatPaySandboxCredentials.generate(appID: appID) } catch { fatalError("\(error)") }
    }()

    /// A live app with only the pay sandbox and a merchant notify route.
    static func run(
        schedule: [Duration] = [.milliseconds(50), .milliseconds(100)], refundDelay: Duration = .milliseconds(100),
        notifyScript: [Int] = [], keyMode: WeChatPaySandbox.KeyMode = .publicKey, notifyTimeout: Duration = .seconds(5),
        _ body: @escaping @Sendable (PayMerchant, WeChatPaySandbox, NotifyInbox) async throws -> Void
    ) async throws {
        let credentials = Self.credentials
        let sandbox = try WeChatPaySandbox(
            credentials: credentials, notifyRetrySchedule: schedule, refundDelay: refundDelay, keyMode: keyMode,
            notifyTimeout: notifyTimeout)
        let inbox = NotifyInbox(
            platformKey: try _RSA.Signing.PublicKey(pemRepresentation: credentials.platformPublicKeyPEM), script: notifyScript)
        let router = Router(context: SwiftletRequestContext.self)
        sandbox.register(on: router)
        inbox.register(on: router)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { (client: any TestClientProtocol) async throws in
            let merchant = try PayMerchant(credentials: credentials, port: try #require(client.port))
            do {
                try await body(merchant, sandbox, inbox)
            } catch {
                await sandbox.shutdown()
                throw error
            }
            await sandbox.shutdown()
        }
    }
}
