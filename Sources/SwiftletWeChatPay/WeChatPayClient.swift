import AsyncHTTPClient
import Foundation
import NIOHTTP1
import SwiftletResilience

/// WeChat Pay API v3 client for one direct merchant and mini-program, usable on its own.
///
/// Every request is signed with the merchant key; every 2xx answer and every notify is
/// verified (signature, 5-minute window, key chosen by `Wechatpay-Serial`) before it is
/// decoded or decrypted. Non-2xx answers become `WeChatPayError.api` (or `.orderNotFound`).
///
/// Every request goes through `breaker`: while WeChat Pay fails more calls than it answers
/// (5xx, 429, timeouts, connection failures) a share of calls is refused locally at once
/// with `WeChatPayError.throttled` (see `DependencyBreaker`). The client never retries a
/// request by itself.
public struct WeChatPayClient: Sendable {
    public let configuration: WeChatPayConfiguration
    public let signer: WeChatPaySigner
    /// The key store, shared with every copy of this client; downloaded certificates land here.
    public let verifier: WeChatPayVerifier
    /// The guard of every request to WeChat Pay, shared by every copy of this client.
    public let breaker: DependencyBreaker
    private let transport: WeChatPayTransport
    private let refresher: CertificateRefresher
    private let now: @Sendable () -> Date

    public init(
        configuration: WeChatPayConfiguration, httpClient: HTTPClient = .shared,
        now: @escaping @Sendable () -> Date = { Date() }, breaker: DependencyBreaker = DependencyBreaker(name: "wechatpay")
    ) throws {
        try configuration.validate()
        self.configuration = configuration
        self.signer = try WeChatPaySigner(
            mchID: configuration.mchID, serialNumber: configuration.merchantSerialNumber,
            privateKeyPEM: configuration.merchantPrivateKeyPEM)
        self.verifier = try WeChatPayVerifier(
            publicKeyID: configuration.publicKeyID, publicKeyPEM: configuration.publicKeyPEM,
            certificatePEMs: configuration.platformCertificatePEMs)
        self.breaker = breaker
        self.transport = WeChatPayTransport(
            http: httpClient, configuration: configuration, signer: signer, now: now, breaker: breaker)
        self.refresher = CertificateRefresher(minimumInterval: configuration.certificateRefreshMinimumInterval)
        self.now = now
    }

    /// `POST /v3/pay/transactions/jsapi`: creates (or, with identical parameters, re-fetches)
    /// the order and returns its `prepay_id` (valid 2 hours).
    public func jsapiPrepay(_ request: JSAPIPrepayRequest) async throws -> String {
        struct Answer: Decodable { let prepay_id: String }
        let body = try request.jsonBody(appID: configuration.appID, mchID: configuration.mchID)
        let answer = try await call(.POST, path: "/v3/pay/transactions/jsapi", body: body, decoding: Answer.self)
        guard !answer.prepay_id.isEmpty else { throw WeChatPayError.badResponse("empty prepay_id") }
        return answer.prepay_id
    }

    /// The values for `wx.requestPayment`, with `paySign` over
    /// `appID\ntimeStamp\nnonceStr\nprepay_id=…\n` (fresh timestamp and nonce each call).
    public func requestPaymentParameters(prepayID: String) throws -> RequestPaymentParameters {
        let timeStamp = String(Int64(now().timeIntervalSince1970.rounded(.down)))
        let nonceStr = WeChatPayNonce.generate()
        let package = "prepay_id=\(prepayID)"
        let paySign = try signer.paySign(appID: configuration.appID, timeStamp: timeStamp, nonceStr: nonceStr, package: package)
        return RequestPaymentParameters(timeStamp: timeStamp, nonceStr: nonceStr, package: package, signType: "RSA", paySign: paySign)
    }

    /// `GET /v3/pay/transactions/out-trade-no/{no}?mchid=…`; 404 ORDER_NOT_EXIST → `.orderNotFound`.
    public func queryTransaction(outTradeNo: String) async throws -> WeChatPayTransaction {
        try await call(.GET, path: "/v3/pay/transactions/out-trade-no/\(WeChatPayTransport.escape(outTradeNo))",
                       query: [("mchid", configuration.mchID)], decoding: WeChatPayTransaction.self)
    }

    /// `POST /v3/pay/transactions/out-trade-no/{no}/close` → 204. WeChat may answer 204 for
    /// orders already closed or unknown; query afterwards when it matters.
    public func closeTransaction(outTradeNo: String) async throws {
        let body = try WeChatPayJSON.encode(CloseOrderBody(mchid: configuration.mchID))
        let response = try await transport.send(
            .POST, path: "/v3/pay/transactions/out-trade-no/\(WeChatPayTransport.escape(outTradeNo))/close", body: body)
        try await verifyAnswer(response)
    }

    /// `POST /v3/refund/domestic/refunds`. Accepted is not refunded: follow `status`.
    public func refund(_ request: WeChatPayRefundRequest) async throws -> WeChatPayRefund {
        try await call(.POST, path: "/v3/refund/domestic/refunds", body: try request.jsonBody(), decoding: WeChatPayRefund.self)
    }

    /// `GET /v3/refund/domestic/refunds/{out_refund_no}`.
    public func queryRefund(outRefundNo: String) async throws -> WeChatPayRefund {
        try await call(.GET, path: "/v3/refund/domestic/refunds/\(WeChatPayTransport.escape(outRefundNo))",
                       decoding: WeChatPayRefund.self)
    }

    /// `GET /v3/certificates`: decrypts every certificate, checks each serial, verifies the
    /// answer with the keys already held plus the ones just delivered (only WeChat Pay knows
    /// the APIv3 key they were encrypted with), then adds them to `verifier`.
    public func downloadCertificates() async throws -> [WeChatPayPlatformCertificate] {
        let response = try await transport.send(.GET, path: "/v3/certificates")
        let certificates = try WeChatPayCertificateDownload.process(body: response.body, apiV3Key: configuration.apiV3Key)
        guard let headers = response.signatureHeaders else { throw WeChatPayError.signatureInvalid }
        let delivered = Dictionary(certificates.map { (WeChatPayVerifier.normalize($0.serialNumber), $0.publicKey) },
                                   uniquingKeysWith: { first, _ in first })
        try verifier.verify(timestamp: headers.timestamp, nonce: headers.nonce, body: response.body,
                            signature: headers.signature, serial: headers.serial, now: now(), extraKeys: delivered)
        verifier.add(certificates)
        return certificates
    }

    /// Verifies a notify (before anything is decrypted), then decrypts and decodes it.
    /// `body` must be the raw bytes received. Any error means: answer 4xx/5xx, do not act.
    public func parseNotification(headers: WeChatPayNotifyHeaders, body: [UInt8]) async throws -> WeChatPayNotification {
        try await verify(headers: headers, body: body)
        return try WeChatPayNotification.decrypt(verifiedBody: body, apiV3Key: configuration.apiV3Key)
    }

    /// Signature check with one certificate refresh when the serial is unknown and
    /// platform certificates are in use.
    public func verify(headers: WeChatPayNotifyHeaders, body: [UInt8]) async throws {
        do {
            try verifier.verify(headers: headers, body: body, now: now())
        } catch WeChatPayError.unknownSerial where configuration.usesPlatformCertificates {
            // A failed or throttled refresh is not reported as such: the retry below says
            // `unknownSerial` unless a concurrent refresh has meanwhile brought the key.
            _ = try? await refresher.refresh { _ = try await downloadCertificates() }
            try verifier.verify(headers: headers, body: body, now: now())
        }
    }

    private func call<T: Decodable>(
        _ method: HTTPMethod, path: String, query: [(String, String)] = [], body: [UInt8]? = nil, decoding: T.Type
    ) async throws -> T {
        let response = try await transport.send(method, path: path, query: query, body: body)
        try await verifyAnswer(response)
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body))
        } catch {
            throw WeChatPayError.badResponse("\(path) answer is not the documented JSON")
        }
    }

    private func verifyAnswer(_ response: WeChatPayTransport.Response) async throws {
        guard let headers = response.signatureHeaders else { throw WeChatPayError.signatureInvalid }
        try await verify(headers: headers, body: response.body)
    }
}
