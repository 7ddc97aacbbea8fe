import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SwiftletHTTP
import SwiftletTransport
import Synchronization

/// A faithful fake of the WeChat Pay API v3 server (direct merchant, JSAPI), mounted under
/// `/sandbox/wechatpay`: the merchant's base URL is `http://host:port/sandbox/wechatpay`.
///
/// It speaks the real wire protocol: every API request must carry a valid
/// `WECHATPAY2-SHA256-RSA2048` signature by the merchant key (the canonical URL is the
/// path after the mount prefix, `/v3/...?query`, as against the real host; a signature over
/// the full received path is accepted too, since the two coincide against the real host),
/// and every answer (errors and 204 included) carries `Request-ID` and the `Wechatpay-*`
/// signature by the platform key.
///
/// Payment happens through `POST /sandbox/wechatpay/pay` (what the user does in WeChat),
/// which sends the encrypted, signed TRANSACTION.SUCCESS notify with WeChat's retry
/// schedule. Refunds succeed after `refundDelay` and send REFUND.SUCCESS.
///
/// Choices where WeChat's behaviour is unconfirmed: closing a paid order answers
/// 400 `ORDER_PAID`; a refund for an unknown order 404 `RESOURCE_NOT_EXISTS`; a repeated
/// prepay after the payment deadline 400 `ORDER_CLOSED`; an unpaid order stays `NOTPAY` after
/// its deadline (it just cannot be paid); only 200 and 204 acknowledge a notify.
public final class WeChatPaySandbox: Sendable {
    public static let pathPrefix = "/sandbox/wechatpay"
    /// WeChat's retries after a failed notify: 15 of them over 24h4m.
    public static let wechatRetrySchedule: [Duration] = [
        .seconds(15), .seconds(15), .seconds(30), .seconds(180), .seconds(600), .seconds(1200), .seconds(1800),
        .seconds(1800), .seconds(1800), .seconds(3600), .seconds(10800), .seconds(10800), .seconds(10800),
        .seconds(21600), .seconds(21600),
    ]
    static let prepayLifetime: TimeInterval = 7200
    static let allowedClockSkew: TimeInterval = 300

    /// Which key the sandbox merchant verifies WeChat Pay with, as set on the merchant
    /// platform: it decides which serials a request may name in `Wechatpay-Serial`, which
    /// one answers that name none are signed under, and which one notifies are signed under.
    public enum KeyMode: Sendable, Equatable {
        /// Platform certificates (what a certificate-mode SDK expects): answers and notifies
        /// carry the platform certificate serial from `/v3/certificates`; naming the public
        /// key id is refused.
        case certificate
        /// The WeChat Pay public key: answers and notifies carry `PUB_KEY_ID_…`; naming the
        /// certificate serial is refused.
        case publicKey
        /// Moving from certificates to the public key: both serials are accepted and answers
        /// follow the one the request names (the certificate when it names none), while
        /// notifies switch gradually, as WeChat's do, from all certificate-signed at the
        /// sandbox's start to all public-key-signed after `window`, when the merchant is in
        /// public-key mode.
        case migrating(window: Duration)
    }

    public let credentials: WeChatPaySandboxCredentials
    public let keyMode: KeyMode
    /// When a migration started (sandbox clock): the sandbox's creation.
    let migrationStartedAt: Date
    let keys: WeChatPaySandboxKeys
    let notifyRetrySchedule: [Duration]
    let httpClient: HTTPClient
    let refundDelay: Duration
    let notifyTimeout: Duration
    let state = Mutex(State())

    public init(
        credentials: WeChatPaySandboxCredentials,
        notifyRetrySchedule: [Duration] = WeChatPaySandbox.wechatRetrySchedule,
        httpClient: HTTPClient = .shared,
        refundDelay: Duration = .milliseconds(200),
        keyMode: KeyMode = .certificate,
        notifyTimeout: Duration = .seconds(5)
    ) throws {
        self.credentials = credentials
        self.keys = try WeChatPaySandboxKeys(credentials)
        self.notifyRetrySchedule = notifyRetrySchedule
        self.httpClient = httpClient
        self.refundDelay = refundDelay
        self.keyMode = keyMode
        self.notifyTimeout = notifyTimeout
        self.migrationStartedAt = Date()
    }

    /// The sandbox's notion of "now" for orders and refunds (moved by `advanceClock`).
    /// Signatures always use the real wall clock.
    var now: Date { Date().addingTimeInterval(state.withLock { $0.clockOffset }) }

    /// Mounts the API and the controls under `prefix` (the merchant's base URL path).
    public func register(on router: Router<SwiftletRequestContext>, at prefix: String = WeChatPaySandbox.pathPrefix) {
        let group = router.group(RouterPath(prefix))
        group.post("/v3/pay/transactions/jsapi") { request, _ in
            await self.api(.prepay, request) { try self.prepay($0) }
        }
        group.get("/v3/pay/transactions/out-trade-no/:out_trade_no") { request, context in
            let outTradeNo = Self.pathParameter(context, "out_trade_no")
            return await self.api(.query, request) { try self.query(outTradeNo: outTradeNo, $0) }
        }
        group.get("/v3/pay/transactions/id/:transaction_id") { request, context in
            let transactionID = Self.pathParameter(context, "transaction_id")
            return await self.api(.query, request) { try self.query(transactionID: transactionID, $0) }
        }
        group.post("/v3/pay/transactions/out-trade-no/:out_trade_no/close") { request, context in
            let outTradeNo = Self.pathParameter(context, "out_trade_no")
            return await self.api(.close, request) { try self.close(outTradeNo: outTradeNo, $0) }
        }
        group.post("/v3/refund/domestic/refunds") { request, _ in
            await self.api(.refund, request) { try self.createRefund($0) }
        }
        group.get("/v3/refund/domestic/refunds/:out_refund_no") { request, context in
            let outRefundNo = Self.pathParameter(context, "out_refund_no")
            return await self.api(.refundQuery, request) { try self.queryRefund(outRefundNo: outRefundNo, $0) }
        }
        group.get("/v3/certificates") { request, _ in
            await self.api(.certificates, request) { _ in try self.certificates() }
        }
        registerControl(on: group)
    }

    // MARK: - Request pipeline

    /// What a handler sees of an authenticated request.
    struct Call {
        var mchid: String
        var body: [UInt8]
        var query: [String: String]
    }

    /// A handler's answer: a status and a JSON body (nil for 204).
    struct Reply {
        var status: HTTPResponse.Status
        var body: [UInt8]

        static func json(_ object: Any) -> Reply { Reply(status: .ok, body: WeChatPayWire.serialize(object)) }
        static let noContent = Reply(status: .noContent, body: [])
    }

    /// Authenticates, counts, applies injected failures, runs `handler`, and signs the answer.
    func api(_ kind: APIKind, _ request: Request, _ handler: (Call) throws -> Reply) async -> Response {
        var serial = kind == .certificates ? credentials.platformCertificateSerialNumber : answerSerial(requested: nil)
        do {
            let body: [UInt8]
            do {
                body = Array(buffer: try await request.body.collect(upTo: 1 << 20))
            } catch {
                throw PayAPIError.invalidRequest("请求体过大或读取失败")
            }
            if let chosen = request.headers[HTTPField.Name("Wechatpay-Serial")!] {
                let accepted = try acceptedSerial(chosen)
                serial = accepted
            }
            let mchid = try authenticate(request, body: body)
            if request.method == .post, !body.isEmpty,
               !(request.headers[.contentType] ?? "").lowercased().hasPrefix("application/json") {
                throw PayAPIError.invalidRequest("Content-Type 必须为 application/json")
            }
            let injected: PayAPIError? = state.withLock { state in
                state.count(kind)
                return state.injectedFailures[kind]?.isEmpty == false ? state.injectedFailures[kind]?.removeFirst() : nil
            }
            if let injected { throw injected }
            var query: [String: String] = [:]
            for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
            let reply = try handler(Call(mchid: mchid, body: body, query: query))
            return signed(reply.status, reply.body, serial: serial)
        } catch let error as PayAPIError {
            return signed(error.status, error.body, serial: serial, requestIDSuffix: String(error.status.code * 1000 + 1))
        } catch {
            let failure = PayAPIError(.internalServerError, "SYSTEM_ERROR", "系统繁忙,请稍后重试")
            return signed(failure.status, failure.body, serial: serial, requestIDSuffix: "500001")
        }
    }

    func signed(_ status: HTTPResponse.Status, _ body: [UInt8], serial: String, requestIDSuffix: String = "0") -> Response {
        WeChatPayWire.signedResponse(status: status, body: body, key: keys.platformPrivateKey, serial: serial,
                                     requestIDSuffix: requestIDSuffix)
    }

    /// Checks the `Authorization` header (§4.1) and returns the authenticated mchid.
    func authenticate(_ request: Request, body: [UInt8]) throws -> String {
        guard let header = request.headers[.authorization], let auth = WeChatPayWire.parseAuthorization(header) else {
            throw PayAPIError.sign("Authorization不合法", detail: [
                "field": "Authorization", "location": "header",
                "issue": "需要 WECHATPAY2-SHA256-RSA2048 mchid=\"…\",nonce_str=\"…\",timestamp=\"…\",serial_no=\"…\",signature=\"…\"",
            ])
        }
        guard auth.mchid == credentials.mchID else {
            throw PayAPIError(.badRequest, "MCH_NOT_EXISTS", "商户号不存在")
        }
        guard auth.serialNumber == credentials.merchantSerialNumber else {
            throw PayAPIError.sign("商户证书序列号有误，请使用签名私钥匹配的证书序列号", detail: [
                "field": "serial_no", "location": "authorization", "value": auth.serialNumber,
            ])
        }
        guard let timestamp = TimeInterval(auth.timestamp), auth.timestamp.allSatisfy(\.isNumber),
              abs(Date().timeIntervalSince1970 - timestamp) < Self.allowedClockSkew else {
            throw PayAPIError.sign("请求的时间戳已过期或超前，请检查系统时间", detail: [
                "field": "timestamp", "location": "authorization", "value": auth.timestamp,
            ])
        }
        let received = request.uri.string
        // What the merchant would sign against the real host: the path from `/v3/` on.
        let canonical = received.range(of: "/v3/").map { String(received[$0.lowerBound...]) } ?? received
        let method = request.method.rawValue
        let verified = [canonical, received].contains { url in
            WeChatPayWire.verify(auth.signature, message: WeChatPayWire.requestMessage(
                method: method, url: url, timestamp: auth.timestamp, nonce: auth.nonce, body: body), with: keys.merchantPublicKey)
        }
        guard verified else {
            let message = "\(method)\n\(canonical)\n\(auth.timestamp)\n\(auth.nonce)\n...\n"
            throw PayAPIError.sign("签名错误，请检查后再试", detail: [
                "field": "signature", "location": "authorization", "detail": ["issue": "sign not match"],
                "sign_information": [
                    "method": method, "url": canonical, "truncated_sign_message": message,
                    "sign_message_length": WeChatPayWire.requestMessage(
                        method: method, url: canonical, timestamp: auth.timestamp, nonce: auth.nonce, body: body).count,
                ] as [String: Any],
            ])
        }
        return auth.mchid
    }

    /// The header mchid must be the one in the body or query.
    func requireSameMerchant(_ mchid: String, _ call: Call) throws {
        guard mchid == call.mchid else {
            throw PayAPIError.sign("请求中的商户号与Authorization中的商户号不一致", detail: [
                "field": "mchid", "location": "authorization", "value": mchid,
            ])
        }
    }

    static func pathParameter(_ context: SwiftletRequestContext, _ name: String) -> String {
        let raw = context.parameters.get(name) ?? ""
        return raw.removingPercentEncoding ?? raw
    }
}
