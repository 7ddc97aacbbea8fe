import Foundation

/// Every way a WeChat Pay call or notify check can fail, as a typed value.
///
/// Signature, clock and key problems are separate cases because callers react differently:
/// a stale clock is an operations problem, an unknown serial may need a certificate refresh,
/// a bad signature is a forgery (or a `WECHATPAY/SIGNTEST/` probe) and must be refused.
/// No case ever carries a key, a signature or a decrypted payload.
public enum WeChatPayError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The configuration cannot work (key length, PEM format, missing id); the text says which field.
    case invalidConfiguration(String)
    /// The RSA signature over `timestamp\nnonce\nbody\n` does not verify.
    case signatureInvalid
    /// `|now − Wechatpay-Timestamp| ≥ 300 s`: a replay or a badly skewed clock.
    case timestampOutOfWindow
    /// No key is known for this `Wechatpay-Serial` (even after a certificate refresh).
    case unknownSerial(String)
    /// AEAD_AES_256_GCM authentication failed: wrong APIv3 key or tampered resource.
    case decryptionFailed
    /// A notify that verified but does not have the documented shape.
    case malformedNotification(String)
    /// 404 ORDER_NOT_EXIST: WeChat Pay has no order with this out_trade_no.
    case orderNotFound
    /// Any other non-2xx answer, with WeChat Pay's `code` and `message` kept verbatim.
    case api(status: Int, code: String, message: String)
    /// WeChat Pay answered 2xx with something that is not the documented JSON.
    case badResponse(String)
    /// No answer within the configured timeout.
    case timeout
    /// The request could not be sent or the connection failed.
    case transport(String)
    /// Not sent: most recent calls to WeChat Pay failed, and the client's breaker refused
    /// this one locally instead of adding to its load (try again shortly, as after a 5xx).
    case throttled

    public var description: String {
        switch self {
        case .invalidConfiguration(let what): "invalid WeChat Pay configuration: \(what)"
        case .signatureInvalid: "WeChat Pay signature does not verify"
        case .timestampOutOfWindow: "WeChat Pay timestamp is more than 5 minutes away from now"
        case .unknownSerial(let serial): "no WeChat Pay key for serial \(serial)"
        case .decryptionFailed: "WeChat Pay resource could not be decrypted"
        case .malformedNotification(let why): "malformed WeChat Pay notification: \(why)"
        case .orderNotFound: "WeChat Pay order does not exist"
        case .api(let status, let code, let message): "WeChat Pay HTTP \(status) \(code): \(message)"
        case .badResponse(let why): "unexpected answer from WeChat Pay: \(why)"
        case .timeout: "WeChat Pay did not answer in time"
        case .transport(let why): "could not reach WeChat Pay: \(why)"
        case .throttled: "calls to WeChat Pay are refused locally while most recent calls fail"
        }
    }

    /// True when the error says WeChat Pay could not take the call — no answer in time, no
    /// connection, 429 FREQUENCY_LIMITED or a 5xx (SYSTEM_ERROR) — which is what the breaker
    /// counts against it. Every other answer refuses the request itself (404
    /// ORDER_NOT_EXIST, 400 PARAM_ERROR, 403 ORDER_PAID, …): WeChat Pay is up and said no,
    /// and refusing other calls locally would not change its answer.
    public var isDependencyFailure: Bool {
        switch self {
        case .timeout, .transport: true
        case .api(let status, _, _): status == 429 || status >= 500
        default: false
        }
    }

    /// Maps a non-2xx answer to its case. The body is `{"code","message","detail"?}`;
    /// anything else (a proxy's HTML page, an empty body) keeps only the status.
    public static func fromResponse(status: Int, body: [UInt8]) -> WeChatPayError {
        struct Envelope: Decodable {
            let code: String?
            let message: String?
        }
        let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(body))
        let code = envelope?.code ?? ""
        if status == 404, code == "ORDER_NOT_EXIST" || code == "ORDERNOTEXIST" {
            return .orderNotFound
        }
        return .api(status: status, code: code, message: envelope?.message ?? "")
    }
}

extension WeChatPayError {
    /// The `code` label of `swiftlet_wechatpay_call_errors_total`: WeChat Pay's own error
    /// code (a documented, bounded set), or what went wrong before it answered.
    public var metricsLabel: String {
        switch self {
        case .api(_, let code, _): code.count <= 40 && code.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") } ? code : "other"
        case .orderNotFound: "ORDER_NOT_EXIST"
        case .signatureInvalid, .unknownSerial, .timestampOutOfWindow: "signature"
        case .timeout: "timeout"
        case .transport: "transport"
        case .throttled: "refused"
        case .badResponse, .decryptionFailed, .malformedNotification, .invalidConfiguration: "other"
        }
    }
}
