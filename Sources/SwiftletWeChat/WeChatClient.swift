import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Client for the WeChat mini-program server API, usable without the rest of Swiftlet.
///
/// Every call has a timeout; every WeChat errcode becomes a `WeChatError`; calls that
/// need an access_token get it from a single-flight cache (`stable_token`) and retry
/// exactly once after a 40001/42001.
///
/// With `sharing`, the nodes of a deployment share one token through a store (one
/// refresher at a time, at most one forced refresh after a rejection); the single-flight
/// cache stays in front, so one node never sends two fetches at once.
public struct WeChatClient: Sendable {
    public let configuration: WeChatConfiguration
    /// Internal, not private: the calls kept in `WeChatClient+…` files send through it too.
    let http: HTTPClient
    private let tokens: AccessTokenCache

    public init(configuration: WeChatConfiguration, httpClient: HTTPClient = .shared, sharing: AccessTokenSharing? = nil) {
        self.configuration = configuration
        self.http = httpClient
        let fetcher = StableTokenFetcher(configuration: configuration, http: httpClient)
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
        let data = try await WeChatHTTP.send(
            http, configuration: configuration, method: .GET, path: "/sns/jscode2session",
            query: [("appid", configuration.appID), ("secret", configuration.appSecret),
                    ("js_code", code), ("grant_type", "authorization_code")])
        let body = try WeChatHTTP.decode(Code2SessionBody.self, from: data)
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
        let decoded = try await withAccessToken { token in
            try WeChatHTTP.decode(PhoneNumberBody.self, from: try await WeChatHTTP.send(
                http, configuration: configuration, method: .POST, path: "/wxa/business/getuserphonenumber",
                query: [("access_token", token)], body: body))
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
    /// fetches a fresh one and retries once.
    func withAccessToken<T: Sendable>(_ call: @Sendable (String) async throws -> T) async throws -> T {
        let token = try await tokens.token()
        do {
            return try await call(token)
        } catch let error as WeChatError where error.isStaleAccessToken {
            await tokens.invalidate(token)
            return try await call(try await tokens.token())
        }
    }
}

/// The HTTP exchange shared by every call: URL building, timeout, error mapping.
enum WeChatHTTP {
    static let maxResponseBytes = 1 << 20

    static func send(
        _ http: HTTPClient, configuration: WeChatConfiguration, method: HTTPMethod, path: String,
        query: [(String, String)], body: Data? = nil
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
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            let deadline = NIODeadline.now() + .nanoseconds(Int64(configuration.timeout.components.seconds * 1_000_000_000
                + configuration.timeout.components.attoseconds / 1_000_000_000))
            let response = try await http.execute(request, deadline: deadline)
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
