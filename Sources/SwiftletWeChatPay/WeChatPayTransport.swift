import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwiftletOutboundTelemetry
import SwiftletResilience

/// One signed exchange with WeChat Pay: URL building, Authorization header, timeout,
/// error mapping, all behind the client's breaker (a refused call is never signed or
/// sent). Verifying the answer's signature is left to the caller, which knows which keys
/// to use.
struct WeChatPayTransport: Sendable {
    static let maxResponseBytes = 1 << 20
    static let userAgent = "Swiftlet-WeChatPay/1.0 (Swift; +WeChat Pay API v3)"

    struct Response: Sendable {
        let status: Int
        let headers: HTTPHeaders
        let body: [UInt8]

        var signatureHeaders: WeChatPayNotifyHeaders? {
            WeChatPayNotifyHeaders { headers.first(name: $0) }
        }
    }

    let http: HTTPClient
    let configuration: WeChatPayConfiguration
    let signer: WeChatPaySigner
    let now: @Sendable () -> Date
    let breaker: DependencyBreaker

    /// Sends one request. `path` is already escaped; `query` values are escaped here.
    /// Returns 2xx answers (except 202, "not processed yet"); throws the mapped error otherwise.
    func send(_ method: HTTPMethod, path: String, query: [(String, String)] = [], body: [UInt8]? = nil) async throws -> Response {
        let base = configuration.baseURL()
        guard let components = URLComponents(string: base), components.scheme != nil, components.host != nil else {
            throw WeChatPayError.transport("invalid base URL")
        }
        var requestURI = Self.trimTrailingSlash(components.percentEncodedPath) + path
        if !query.isEmpty {
            requestURI += "?" + query.map { "\(Self.escape($0.0))=\(Self.escape($0.1))" }.joined(separator: "&")
        }
        let uri = requestURI
        return try await configuration.telemetry.measure(
            api: Self.apiName(method, path), method: method.rawValue, host: components.host ?? "",
            classify: { ($0 as? WeChatPayError)?.metricsLabel ?? "other" }
        ) { outbound in
            try await breaker.run(
                refused: { _ in WeChatPayError.throttled },
                isFailure: { ($0 as? WeChatPayError)?.isDependencyFailure ?? true }
            ) {
                try await signAndSend(method, components: components, requestURI: uri, body: body, call: outbound)
            }
        }
    }

    /// The API as a metrics label and span name, from the documented paths.
    static func apiName(_ method: HTTPMethod, _ path: String) -> String {
        if path.hasPrefix("/v3/pay/transactions/jsapi") { return "jsapi_prepay" }
        if path.hasPrefix("/v3/pay/transactions/") { return path.hasSuffix("/close") ? "close_order" : "query_order" }
        if path.hasPrefix("/v3/refund/domestic/refunds") { return method == .POST ? "refund" : "query_refund" }
        if path.hasPrefix("/v3/certificates") { return "certificates" }
        return "other"
    }

    private func signAndSend(
        _ method: HTTPMethod, components: URLComponents, requestURI: String, body: [UInt8]?, call outbound: OutboundCall
    ) async throws -> Response {
        // The signature covers the request URI exactly as sent, prefix included (Go SDK:
        // `URL.RequestURI()`), so a server mounted under a path verifies what it receives.
        let timestamp = String(Int64(now().timeIntervalSince1970.rounded(.down)))
        let nonce = WeChatPayNonce.generate()
        let authorization = try signer.authorization(
            method: method.rawValue, canonicalURL: requestURI, timestamp: timestamp, nonce: nonce, body: body ?? [])

        var origin = components
        origin.percentEncodedPath = ""
        origin.percentEncodedQuery = nil
        guard let originString = origin.string else { throw WeChatPayError.transport("invalid base URL") }
        var request = HTTPClientRequest(url: originString + requestURI)
        request.method = method
        request.headers.add(name: "Authorization", value: authorization)
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: Self.userAgent)
        request.headers.add(contentsOf: outbound.headers)
        if let publicKeyID = configuration.publicKeyID {
            // Asks WeChat Pay to sign the answer with the public key we hold.
            request.headers.add(name: "Wechatpay-Serial", value: publicKeyID)
        }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await execute(request)
        outbound.answered(status: response.status)
        guard (200..<300).contains(response.status), response.status != 202 else {
            throw WeChatPayError.fromResponse(status: response.status, body: response.body)
        }
        return response
    }

    private func execute(_ request: HTTPClientRequest) async throws -> Response {
        let timeout = configuration.timeout.components
        let nanoseconds = timeout.seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let deadline = NIODeadline.now() + .nanoseconds(
            nanoseconds.overflow ? .max : nanoseconds.partialValue + timeout.attoseconds / 1_000_000_000)
        do {
            let response = try await http.execute(request, deadline: deadline)
            let buffer = try await response.body.collect(upTo: Self.maxResponseBytes)
            return Response(status: Int(response.status.code), headers: response.headers, body: Array(buffer.readableBytesView))
        } catch let error as HTTPClientError
                    where [.deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout].contains(error) {
            throw WeChatPayError.timeout
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw WeChatPayError.transport(String(describing: error))
        }
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters (path segments and
    /// query values alike), so `|` and `*` in order numbers travel safely.
    static func escape(_ value: String) -> String {
        var allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }

    static func trimTrailingSlash(_ path: String) -> String {
        var path = Substring(path)
        while path.hasSuffix("/") { path = path.dropLast() }
        return String(path)
    }
}
