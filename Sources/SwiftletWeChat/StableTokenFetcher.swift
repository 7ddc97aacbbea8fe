import AsyncHTTPClient
import Foundation

/// Fetches tokens through `/cgi-bin/stable_token`. Normal mode returns the same token
/// while it is valid, so several nodes fetching never invalidate each other's tokens;
/// forced mode (`force_refresh: true`) replaces it and is kept for a token WeChat
/// rejects while normal mode still returns it.
struct StableTokenFetcher: Sendable {
    let configuration: WeChatConfiguration
    let http: HTTPClient

    func fetch(force: Bool = false) async throws -> (token: String, expiresIn: Duration) {
        let payload: [String: Any] = [
            "grant_type": "client_credential", "appid": configuration.appID,
            "secret": configuration.appSecret, "force_refresh": force,
        ]
        let body = try JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys])
        let data = try await WeChatHTTP.send(http, configuration: configuration, method: .POST, path: "/cgi-bin/stable_token", query: [], body: body)
        let decoded = try WeChatHTTP.decode(StableTokenBody.self, from: data)
        guard let token = decoded.access_token, !token.isEmpty, let expiresIn = decoded.expires_in, expiresIn > 0 else {
            throw WeChatError.badResponse("stable_token answer without access_token or expires_in")
        }
        return (token, .seconds(expiresIn))
    }
}

/// A token as the node's own cache keeps it: until `refreshAt` on this machine's clock.
struct CachedAccessToken: Sendable {
    let value: String
    let refreshAt: ContinuousClock.Instant

    /// A token fetched now that WeChat says lives `expiresIn`.
    init(value: String, expiresIn: Duration, margin: Duration, now: ContinuousClock.Instant = .now) {
        self.value = value
        self.refreshAt = now + expiresIn - AccessTokenState.refreshLead(margin: margin, expiresIn: expiresIn)
    }

    init(value: String, refreshAt: ContinuousClock.Instant) {
        self.value = value
        self.refreshAt = refreshAt
    }
}
