import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwiftletOutboundTelemetry
import SwiftletResilience

/// Client for the WeChat mini-program server API, usable without the rest of Swiftlet.
///
/// Every call has a timeout; every WeChat errcode becomes a `WeChatError`; calls that
/// need an access_token get it from a single-flight cache (`stable_token`) and retry
/// once after a 40001/42001 when the retry budget allows.
///
/// Every call, token fetches included, goes through `breaker`: while WeChat fails more
/// calls than it answers (-1, timeouts, connection failures, answers that are not its
/// JSON) a share of calls is refused locally at once with `WeChatError.throttled`, and
/// immediate retries stay within a tenth of the calls (see `DependencyBreaker`).
///
/// With `sharing`, the nodes of a deployment share one token through a store (one
/// refresher at a time, at most one forced refresh after a rejection); the single-flight
/// cache stays in front, so one node never sends two fetches at once.
public struct WeChatClient: Sendable {
    public let configuration: WeChatConfiguration
    /// Internal, not private: the calls kept in `WeChatClient+…` files send through it too.
    let http: HTTPClient
    /// The guard of every call to WeChat; one per WeChat API host, shared by every copy of
    /// this client. Its snapshot shows how WeChat is doing from this process.
    public let breaker: DependencyBreaker
    private let tokens: AccessTokenCache

    /// The breaker's settings for WeChat: the throttle's defaults, and a retry budget of
    /// 10 % of the calls plus 3 a second (30 over its 10 s window). The minimum is sized for
    /// the one legitimate burst of retries: when WeChat replaces the token, every call a
    /// node has in flight meets 40001 at once and deserves its one retry with the new
    /// token, also on a node that was idle until then. A storm of rejected tokens at 100
    /// calls a second is still held to 13 % more calls instead of 100 %.
    public static let breakerConfiguration = DependencyBreaker.Configuration(retryBudget: .init(minimumPerSecond: 3))

    public init(
        configuration: WeChatConfiguration, httpClient: HTTPClient = .shared, sharing: AccessTokenSharing? = nil,
        breaker: DependencyBreaker = DependencyBreaker(name: "wechat", configuration: WeChatClient.breakerConfiguration)
    ) {
        self.configuration = configuration
        self.http = httpClient
        self.breaker = breaker
        let fetcher = StableTokenFetcher(configuration: configuration, http: httpClient, breaker: breaker)
        let margin = configuration.tokenRefreshMargin
        if let sharing {
            let source = SharedAccessTokenSource(sharing: sharing, fetcher: fetcher, margin: margin)
            self.tokens = AccessTokenCache { rejected in try await source.token(rejected: rejected) }
        } else {
            self.tokens = AccessTokenCache { _ in
                let fetched = try await fetcher.fetch()
                return CachedAccessToken(value: fetched.token, expiresIn: fetched.expiresIn, margin: margin)
            }
        }
    }

    /// Exchanges a `wx.login()` code for the user's openid (and unionid) and session key.
    public func code2Session(code: String) async throws -> WeChatSession {
        let body = try await exchange(
            Code2SessionBody.self, method: .GET, path: "/sns/jscode2session",
            query: [("appid", configuration.appID), ("secret", configuration.appSecret),
                    ("js_code", code), ("grant_type", "authorization_code")])
        guard let openid = body.openid, !openid.isEmpty, let sessionKey = body.session_key else {
            throw WeChatError.badResponse("code2Session answer without openid or session_key")
        }
        return WeChatSession(openid: openid, unionid: body.unionid.flatMap { $0.isEmpty ? nil : $0 }, sessionKey: sessionKey)
    }

    /// The current access_token, fetched or refreshed if needed (one fetch at a time).
    public func accessToken() async throws -> String {
        try await tokens.token()
    }

    /// Resolves a `getPhoneNumber` button code to the user's phone number.
    public func phoneNumber(code: String, openid: String? = nil) async throws -> WeChatPhoneNumber {
        var payload = ["code": code]
        if let openid { payload["openid"] = openid }
        let body = try JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys])
        // Decoded inside the closure: a 40001/42001 errcode must surface there to be retried.
        let decoded = try await withAccessToken { token, call in
            try await exchange(
                PhoneNumberBody.self, call: call, method: .POST, path: "/wxa/business/getuserphonenumber",
                query: [("access_token", token)], body: body)
        }
        guard let info = decoded.phone_info else {
            throw WeChatError.badResponse("getuserphonenumber answer without phone_info")
        }
        if let appid = info.watermark?.appid, appid != configuration.appID {
            throw WeChatError.watermarkMismatch
        }
        return WeChatPhoneNumber(phoneNumber: info.phoneNumber, purePhoneNumber: info.purePhoneNumber, countryCode: info.countryCode.value)
    }

    /// Runs `call` with the cached token; after a stale-token error, drops that token,
    /// fetches a fresh one and retries once — if the retry budget grants it. Without the
    /// budget a token WeChat keeps rejecting (revoked, or replaced faster than nodes
    /// learn it) would double every call; with it, the stale-token error is the answer and
    /// the next call starts with a fresh token.
    func withAccessToken<T: Sendable>(_ call: @Sendable (String, DependencyCall) async throws -> T) async throws -> T {
        let token = try await tokens.token()
        do {
            return try await call(token, .first)
        } catch let error as WeChatError where error.isStaleAccessToken {
            await tokens.invalidate(token)
            guard breaker.grantRetry() else { throw error }
            return try await call(try await tokens.token(), .retry)
        }
    }

    /// One guarded request and its decoded answer (see `WeChatHTTP.exchange`).
    func exchange<T: Decodable & Sendable>(
        _ type: T.Type, call: DependencyCall = .first, method: HTTPMethod, path: String, query: [(String, String)],
        body: Data? = nil
    ) async throws -> T {
        try await WeChatHTTP.exchange(
            type, http, configuration: configuration, breaker: breaker, call: call, method: method, path: path, query: query,
            body: body)
    }
}

/// The HTTP exchange shared by every call: URL building, timeout, error mapping.
enum WeChatHTTP {
    static let maxResponseBytes = 1 << 20

    /// Sends one request and decodes its answer under `breaker`: refused at once with
    /// `.throttled` while it sheds calls, otherwise counted as a failure of WeChat when
    /// the error says WeChat could not take the call (`isDependencyFailure`). Decoding is
    /// inside, because WeChat says "busy" (-1) in the JSON of an HTTP 200.
    static func exchange<T: Decodable & Sendable>(
        _ type: T.Type, _ http: HTTPClient, configuration: WeChatConfiguration, breaker: DependencyBreaker,
        call: DependencyCall = .first, method: HTTPMethod, path: String, query: [(String, String)], body: Data? = nil
    ) async throws -> T {
        try await configuration.telemetry.measure(
            api: apiName(path), method: method.rawValue, host: host(configuration),
            classify: { ($0 as? WeChatError)?.metricsLabel ?? "other" }
        ) { outbound in
            try await breaker.run(
                call, refused: { _ in WeChatError.throttled },
                isFailure: { ($0 as? WeChatError)?.isDependencyFailure ?? true }
            ) {
                try decode(type, from: try await send(
                    http, configuration: configuration, method: method, path: path, query: query, body: body,
                    call: outbound))
            }
        }
    }

    /// The API as a metrics label: the path's last part (`jscode2session`,
    /// `stable_token`, `getuserphonenumber`), `subscribe_send` for subscribe messages.
    static func apiName(_ path: String) -> String {
        if path.hasSuffix("/message/subscribe/send") { return "subscribe_send" }
        return path.split(separator: "/").last.map(String.init) ?? path
    }

    static func host(_ configuration: WeChatConfiguration) -> String {
        URLComponents(string: configuration.baseURL())?.host ?? ""
    }

    static func send(
        _ http: HTTPClient, configuration: WeChatConfiguration, method: HTTPMethod, path: String,
        query: [(String, String)], body: Data? = nil, call outbound: OutboundCall? = nil
    ) async throws -> Data {
        var components = URLComponents(string: configuration.baseURL() + path)
        if !query.isEmpty {
            components?.percentEncodedQuery = query.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
        }
        guard let url = components?.string else {
            throw WeChatError.transport("invalid base URL \(configuration.baseURL())")
        }
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(contentsOf: outbound?.headers ?? [])
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            let deadline = NIODeadline.now() + .nanoseconds(Int64(configuration.timeout.components.seconds * 1_000_000_000
                + configuration.timeout.components.attoseconds / 1_000_000_000))
            let response = try await http.execute(request, deadline: deadline)
            outbound?.answered(status: Int(response.status.code))
            guard response.status == .ok else {
                throw WeChatError.badResponse("HTTP \(response.status.code)")
            }
            let buffer = try await response.body.collect(upTo: maxResponseBytes)
            return Data(buffer.readableBytesView)
        } catch let error as WeChatError {
            throw error
        } catch let error as HTTPClientError
                    where [.deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout].contains(error) {
            throw WeChatError.timeout
        } catch {
            throw WeChatError.transport(String(describing: error))
        }
    }

    /// Checks `errcode` first (WeChat answers errors with HTTP 200), then decodes.
    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        let decoder = JSONDecoder()
        guard let envelope = try? decoder.decode(ErrorEnvelope.self, from: data) else {
            throw WeChatError.badResponse("not JSON")
        }
        if let errcode = envelope.errcode, errcode != 0 {
            throw WeChatError.fromErrcode(errcode, errmsg: envelope.errmsg ?? "")
        }
        do {
            return try decoder.decode(T.self, from: data)
        } catch {
            throw WeChatError.badResponse("unexpected JSON shape")
        }
    }

    static func escape(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}
