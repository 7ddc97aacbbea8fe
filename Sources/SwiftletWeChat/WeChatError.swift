/// Every way a WeChat call can fail, as a typed value.
///
/// WeChat answers most failures with HTTP 200 and an `errcode`; each errcode a caller
/// must treat differently has its own case, so callers switch instead of comparing
/// numbers. Transport failures are separate so a caller can tell "WeChat said no" from
/// "WeChat did not answer".
public enum WeChatError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 40029: the login or phone code is invalid or expired; the client must get a new one.
    case invalidCode
    /// 40163: the code was already used.
    case codeUsed
    /// 45011: per-user minute quota reached.
    case rateLimited
    /// 45009: daily API quota exhausted.
    case dailyQuotaExceeded
    /// 40226: WeChat flags the user as high-risk and blocks the login.
    case highRiskUser
    /// -1: WeChat is busy; retry later.
    case busy
    /// 40001: access_token invalid or superseded.
    case accessTokenInvalid
    /// 42001: access_token expired.
    case accessTokenExpired
    /// 40013: the appid is wrong (configuration error).
    case invalidAppID
    /// Any other errcode, kept verbatim.
    case api(errcode: Int, errmsg: String)
    /// No answer within the configured timeout.
    case timeout
    /// The request could not be sent or the connection failed.
    case transport(String)
    /// WeChat answered with something that is not the documented JSON.
    case badResponse(String)
    /// Not sent: most recent calls to WeChat failed, and the client's breaker refused this
    /// one locally instead of adding to WeChat's load (retry shortly, as after `.busy`).
    case throttled
    /// Encrypted user data could not be decrypted (wrong or stale session_key, bad padding).
    case decryptionFailed
    /// Decrypted user data belongs to another appid.
    case watermarkMismatch

    /// Maps an errcode (non-zero) to its case.
    public static func fromErrcode(_ errcode: Int, errmsg: String) -> WeChatError {
        switch errcode {
        case 40029: .invalidCode
        case 40163: .codeUsed
        case 45011: .rateLimited
        case 45009: .dailyQuotaExceeded
        case 40226: .highRiskUser
        case -1: .busy
        case 40001: .accessTokenInvalid
        case 42001: .accessTokenExpired
        case 40013: .invalidAppID
        default: .api(errcode: errcode, errmsg: errmsg)
        }
    }

    /// True when the access_token used was rejected and one refresh-and-retry is due.
    public var isStaleAccessToken: Bool {
        self == .accessTokenInvalid || self == .accessTokenExpired
    }

    /// True when the error says WeChat could not take the call — busy (-1), no answer in
    /// time, no connection, or an answer that is not its JSON (a proxy's error page, an
    /// HTTP 5xx) — which is what the breaker counts against WeChat. Every errcode that
    /// refuses the request itself (40029 invalid code, 40001 stale token, 45011 a user's
    /// quota, 43101 no subscription, …) is an answer: WeChat is up and said no, and refusing
    /// other users' calls locally would not change its answer.
    public var isDependencyFailure: Bool {
        switch self {
        case .busy, .timeout, .transport, .badResponse: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .invalidCode: "WeChat errcode 40029: invalid code"
        case .codeUsed: "WeChat errcode 40163: code already used"
        case .rateLimited: "WeChat errcode 45011: minute quota reached"
        case .dailyQuotaExceeded: "WeChat errcode 45009: daily quota reached"
        case .highRiskUser: "WeChat errcode 40226: high-risk user blocked"
        case .busy: "WeChat errcode -1: system busy"
        case .accessTokenInvalid: "WeChat errcode 40001: access_token invalid"
        case .accessTokenExpired: "WeChat errcode 42001: access_token expired"
        case .invalidAppID: "WeChat errcode 40013: invalid appid"
        case .api(let errcode, let errmsg): "WeChat errcode \(errcode): \(errmsg)"
        case .timeout: "WeChat did not answer in time"
        case .transport(let reason): "could not reach WeChat: \(reason)"
        case .badResponse(let reason): "unexpected answer from WeChat: \(reason)"
        case .throttled: "calls to WeChat are refused locally while most recent calls fail"
        case .decryptionFailed: "encrypted user data could not be decrypted"
        case .watermarkMismatch: "user data watermark belongs to another appid"
        }
    }
}

extension WeChatError {
    /// The `errcode` label of `swiftlet_wechat_call_errors_total`: WeChat's own code, or
    /// what went wrong before WeChat answered.
    public var metricsLabel: String {
        switch self {
        case .invalidCode: "40029"
        case .codeUsed: "40163"
        case .rateLimited: "45011"
        case .dailyQuotaExceeded: "45009"
        case .highRiskUser: "40226"
        case .busy: "-1"
        case .accessTokenInvalid: "40001"
        case .accessTokenExpired: "42001"
        case .invalidAppID: "40013"
        case .api(let errcode, _): String(errcode)
        case .timeout: "timeout"
        case .transport: "transport"
        case .badResponse: "bad_response"
        case .throttled: "refused"
        case .decryptionFailed, .watermarkMismatch: "other"
        }
    }
}
