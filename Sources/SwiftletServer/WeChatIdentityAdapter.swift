import Logging
import SwiftletCore
import SwiftletWeChat

/// The core's `WeChatIdentityProvider` on the WeChat client: the one place WeChat
/// failures become client-facing errors. The session key is dropped here, never stored
/// or returned (the phone flow does not need it).
struct WeChatIdentityAdapter: WeChatIdentityProvider {
    let client: WeChatClient
    let logger: Logger

    func identity(forLoginCode code: String) async throws -> WeChatIdentity {
        do {
            let session = try await client.code2Session(code: code)
            return WeChatIdentity(openid: session.openid, unionid: session.unionid)
        } catch let error as WeChatError {
            throw map(error, invalidCode: "auth.invalid_code", codeUsed: "auth.code_used")
        }
    }

    func phoneNumber(forCode code: String, openid: String) async throws -> String {
        do {
            return try await client.phoneNumber(code: code, openid: openid).phoneNumber
        } catch let error as WeChatError {
            throw map(error, invalidCode: "profile.invalid_phone_code", codeUsed: "profile.phone_code_used")
        }
    }

    func map(_ error: WeChatError, invalidCode: String, codeUsed: String) -> SwiftletError {
        switch error {
        case .invalidCode:
            return .invalid(invalidCode, "The code is invalid or expired; get a new one on the client.")
        case .codeUsed:
            return .invalid(codeUsed, "The code was already used; get a new one on the client.")
        case .highRiskUser:
            return SwiftletError(.forbidden, code: "auth.high_risk_user", message: "WeChat blocked this login as high-risk.")
        case .rateLimited:
            return SwiftletError(.rateLimited, code: "wechat.rate_limited", message: "Too many WeChat requests for this user; retry in a minute.")
        case .dailyQuotaExceeded:
            return .unavailable("wechat.quota_exceeded", "The WeChat daily quota is used up.")
        case .busy, .throttled:
            // A call the breaker refused locally looks to clients like WeChat being busy:
            // the same 503 and code, only faster.
            return .unavailable("wechat.busy", "WeChat is busy; retry shortly.")
        case .timeout:
            return .unavailable("wechat.timeout", "WeChat did not answer in time; retry shortly.")
        case .accessTokenInvalid, .accessTokenExpired:
            // Still rejected after the client's refresh, or its refresh budget is spent for
            // now: it passes once a fresh token is in, so not an error for someone to fix.
            logger.warning("wechat call failed", metadata: ["error": .string(Self.logSummary(error))])
            return .unavailable("wechat.unavailable", "WeChat could not be reached or answered unexpectedly.")
        case .transport, .badResponse, .api, .invalidAppID, .decryptionFailed, .watermarkMismatch:
            logger.error("wechat call failed", metadata: ["error": .string(Self.logSummary(error))])
            return .unavailable("wechat.unavailable", "WeChat could not be reached or answered unexpectedly.")
        }
    }

    /// What of a WeChat failure may be logged: its kind and errcode. WeChat's own message
    /// and a transport error's text are left out — the latter can quote the request URL,
    /// whose query carries the app secret and the user's login code.
    static func logSummary(_ error: WeChatError) -> String {
        switch error {
        case .api(let errcode, _): "api errcode=\(errcode)"
        case .transport: "transport"
        case .badResponse: "bad response"
        case .accessTokenInvalid: "access token invalid (40001)"
        case .accessTokenExpired: "access token expired (42001)"
        case .invalidAppID: "invalid appid (40013)"
        case .decryptionFailed: "decryption failed"
        case .watermarkMismatch: "watermark mismatch"
        default: String(describing: error)
        }
    }
}
