import AsyncHTTPClient
import Foundation
import SwiftletResilience

/// Fetches tokens through `/cgi-bin/stable_token`. Normal mode returns the same token
/// while it is valid, so several nodes fetching never invalidate each other's tokens;
/// forced mode (`force_refresh: true`) replaces it and is kept for a token WeChat
/// rejects while normal mode still returns it.
///
/// A fetch is a call to WeChat like any other, through the client's breaker. A forced
/// fetch after a normal one is not budgeted as a retry: it is a different request, made
/// at most once per `forcedRefreshSpacing` across the nodes.
struct StableTokenFetcher: Sendable {
    let configuration: WeChatConfiguration
    let http: HTTPClient
    let breaker: DependencyBreaker

    func fetch(force: Bool = false) async throws -> (token: String, expiresIn: Duration) {
        let payload: [String: Any] = [
            "grant_type": "client_credential", "appid": configuration.appID,
            "secret": configuration.appSecret, "force_refresh": force,
        ]
        let body = try JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys])
        let decoded = try await WeChatHTTP.exchange(
            StableTokenBody.self, http, configuration: configuration, breaker: breaker, method: .POST,
            path: "/cgi-bin/stable_token", query: [], body: body)
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
