import Crypto
import Foundation
import Hummingbird
import NIOCore
import SwiftletCore
import SwiftletHTTP
import SwiftletTransport
import Synchronization

/// A faithful fake of the WeChat API server, mounted under `/sandbox/wechat`, so the real
/// WeChat client can be developed and tested over real HTTP with no WeChat account.
///
/// Codes are scripts:
/// - `<name>:<nonce>`: succeeds once; the same `<name>` always maps to the same openid
///   and unionid (and phone number); a second use answers 40163.
/// - `err:<errcode>:<nonce>`: answers that WeChat errcode (e.g. `err:-1:x` for busy).
/// - `slow:<milliseconds>:<name>`: succeeds as `<name>` after a delay (timeout tests).
///
/// Like WeChat, it answers errors with HTTP 200 and `{"errcode":…,"errmsg":…}`, checks
/// appid and secret, and serves access tokens through `stable_token` (normal mode returns
/// the current token while it is valid; `force_refresh: true` replaces it).
///
/// For tests, including ones driving several server processes that share one sandbox
/// (each node's `wechat.apiBaseUrl` set to `http://HOST:PORT/sandbox/wechat` of the node
/// serving it, with the sandbox AppID and AppSecret, which are the same on every node):
/// - `GET /sandbox/wechat/stats` answers `{"stableTokenCalls":N,"forcedStableTokenCalls":M}`,
///   the `stable_token` requests received (all, and those with `force_refresh: true`);
/// - `POST /sandbox/wechat/control/rotate-token` replaces the current token, as another
///   party's forced refresh would: APIs answer 40001 to the old one and normal mode
///   returns a new one;
/// - `POST /sandbox/wechat/control/reject-token` makes APIs answer 40001 to the current
///   token while normal mode keeps returning it, so only a forced refresh gets a working
///   token (a leaked token revoked by WeChat).
///
/// Subscribe messages follow WeChat's one-time model: each subscription the user accepted
/// (`wx.requestSubscribeMessage`) allows one send.
/// - `POST /sandbox/wechat/cgi-bin/message/subscribe/send` answers a scripted failure
///   first, then checks the token (40001, 42001), `touser` (40003), `template_id` (40037:
///   empty or never accepted by anyone) and each `data` value against its kind's limits
///   (47003 naming the field), then takes one accepted subscription (43101 when none is
///   left) and answers a `msgid`;
/// - `POST /sandbox/wechat/control/subscribe/accept` `{"openid"|"name","templateId","count"?}`
///   records what the user accepted;
/// - `GET /sandbox/wechat/control/subscribe/messages?openid=…` (or `?name=…`) lists the
///   messages sent to a user, in send order;
/// - `POST /sandbox/wechat/control/subscribe/fail` `{"errcode","count"?}` makes the next sends
///   answer that errcode (retry tests).
public final class WeChatSandbox: Sendable {
    public let appID: String
    private let appSecret: String
    private let tokenLifetime: TimeInterval
    /// Internal, not private: the endpoints kept in `WeChatSandbox+…` files share it.
    let state = Mutex(State())

    struct State {
        var usedLoginCodes: Set<String> = []
        var usedPhoneCodes: Set<String> = []
        var token: (value: String, expiresAt: Date)?
        var previousToken: String?
        /// The current `stable_token` token is refused by APIs until a forced refresh.
        var tokenRejected = false
        var stableTokenCalls = 0
        var forcedStableTokenCalls = 0
        /// `/cgi-bin/token`'s own tokens, isolated from `stable_token`'s as WeChat's are.
        var classicToken: (value: String, expiresAt: Date)?
        /// The classic token a new call replaced, valid for five more minutes.
        var replacedClassicToken: (value: String, validUntil: Date)?
        var subscribe = SubscribeState()
    }

    /// How long a classic token stays valid after a new one replaced it (WeChat: ~5 minutes).
    static let classicTokenOverlap: TimeInterval = 300

    /// How many `stable_token` requests arrived (tests check single-flight refresh with it).
    public var stableTokenCalls: Int { state.withLock { $0.stableTokenCalls } }

    /// How many of them asked for `force_refresh`.
    public var forcedStableTokenCalls: Int { state.withLock { $0.forcedStableTokenCalls } }

    public init(appID: String, appSecret: String, tokenLifetime: TimeInterval = 7200) {
        self.appID = appID
        self.appSecret = appSecret
        self.tokenLifetime = tokenLifetime
    }

    public static let pathPrefix = "/sandbox/wechat"

    public func register(on router: Router<SwiftletRequestContext>) {
        let group = router.group(RouterPath(Self.pathPrefix))
        group.get("/sns/jscode2session") { request, _ in
            try await self.code2Session(request.uri.queryParameters)
        }
        group.get("/cgi-bin/token") { request, _ in
            self.classicToken(request.uri.queryParameters)
        }
        group.post("/cgi-bin/stable_token") { request, _ in
            let body = try await Self.jsonObject(request)
            return self.stableToken(body)
        }
        group.post("/wxa/business/getuserphonenumber") { request, _ in
            let body = try await Self.jsonObject(request)
            return try await self.phoneNumber(token: request.uri.queryParameters.get("access_token"), body: body)
        }
        registerSubscribeMessages(on: group)
        group.post("/control/rotate-token") { _, _ in
            self.rotateToken()
            return Self.json(["errcode": 0, "errmsg": "ok"])
        }
        group.post("/control/reject-token") { _, _ in
            self.rejectToken()
            return Self.json(["errcode": 0, "errmsg": "ok"])
        }
        group.get("/stats") { _, _ in
            let (calls, forced) = self.state.withLock { ($0.stableTokenCalls, $0.forcedStableTokenCalls) }
            return Self.json(["stableTokenCalls": calls, "forcedStableTokenCalls": forced])
        }
    }

    // MARK: - Endpoints

    func code2Session(_ query: Parameters) async throws -> Response {
        guard query.get("appid") == appID else { return Self.error(40013) }
        guard query.get("secret") == appSecret else { return Self.error(40125) }
        guard query.get("grant_type") == "authorization_code" else { return Self.error(40002) }
        guard let code = query.get("js_code"), !code.isEmpty else { return Self.error(40029) }
        switch try await script(code, used: \.usedLoginCodes) {
        case .fail(let errcode):
            return Self.error(errcode)
        case .succeed(let name):
            return Self.json([
                "openid": identity("openid", name),
                "unionid": identity("unionid", name),
                "session_key": Data(RandomID.randomBytes(16)).base64EncodedString(),
            ])
        }
    }

    func stableToken(_ body: [String: Any]) -> Response {
        guard body["grant_type"] as? String == "client_credential" else { return Self.error(40002) }
        guard body["appid"] as? String == appID else { return Self.error(40013) }
        guard body["secret"] as? String == appSecret else { return Self.error(40125) }
        let force = body["force_refresh"] as? Bool ?? false
        let now = Date()
        let (value, expiresAt) = state.withLock { state in
            state.stableTokenCalls += 1
            if force { state.forcedStableTokenCalls += 1 }
            if !force, let token = state.token, token.expiresAt > now {
                return token
            }
            state.previousToken = state.token?.value
            state.tokenRejected = false
            let token = ("sandbox_at_" + RandomID.base32(byteCount: 24), now.addingTimeInterval(tokenLifetime))
            state.token = token
            return token
        }
        return Self.json(["access_token": value, "expires_in": max(1, Int(expiresAt.timeIntervalSince(now)))])
    }

    /// `GET /cgi-bin/token`: every call issues a new token; the one it replaces stays valid
    /// for five minutes, so instances switching over do not fail in between.
    func classicToken(_ query: Parameters) -> Response {
        guard query.get("grant_type") == "client_credential" else { return Self.error(40002) }
        guard query.get("appid") == appID else { return Self.error(40013) }
        guard query.get("secret") == appSecret else { return Self.error(40125) }
        let now = Date()
        let token = state.withLock { state in
            if let current = state.classicToken, current.expiresAt > now {
                state.replacedClassicToken = (current.value, min(current.expiresAt, now.addingTimeInterval(Self.classicTokenOverlap)))
            }
            let value = "sandbox_ct_" + RandomID.base32(byteCount: 24)
            state.classicToken = (value, now.addingTimeInterval(tokenLifetime))
            return value
        }
        return Self.json(["access_token": token, "expires_in": Int(tokenLifetime)])
    }

    func phoneNumber(token: String?, body: [String: Any]) async throws -> Response {
        if let errcode = tokenErrcode(token) { return Self.error(errcode) }
        guard let code = body["code"] as? String, !code.isEmpty else { return Self.error(40029) }
        switch try await script(code, used: \.usedPhoneCodes) {
        case .fail(let errcode):
            return Self.error(errcode)
        case .succeed(let name):
            let pure = "13" + String(identityDigits(name).prefix(9))
            return Self.json([
                "errcode": 0, "errmsg": "ok",
                "phone_info": [
                    "phoneNumber": "+86" + pure, "purePhoneNumber": pure, "countryCode": 86,
                    "watermark": ["timestamp": Int(Date().timeIntervalSince1970), "appid": appID],
                ] as [String: Any],
            ])
        }
    }

    /// Why an API refuses `token`, as WeChat answers it: 42001 for a token that was valid and
    /// has expired, 40001 for one unknown, replaced or rejected; nil when it is valid.
    func tokenErrcode(_ token: String?) -> Int? {
        state.withLock { state in
            guard let token else { return 40001 }
            let now = Date()
            if let current = state.token, token == current.value {
                if current.expiresAt <= now { return 42001 }
                return state.tokenRejected ? 40001 : nil
            }
            if let classic = state.classicToken, token == classic.value { return classic.expiresAt > now ? nil : 42001 }
            if let replaced = state.replacedClassicToken, replaced.validUntil > now, token == replaced.value { return nil }
            return 40001
        }
    }

    /// Makes the current token invalid, as when another party force-refreshed it.
    public func rotateToken() {
        state.withLock { state in
            state.previousToken = state.token?.value
            state.token = nil
            state.classicToken = nil
            state.replacedClassicToken = nil
        }
    }

    /// Makes APIs refuse the current token (40001) while `stable_token` in normal mode
    /// keeps returning it; a forced refresh issues a working one.
    public func rejectToken() {
        state.withLock { $0.tokenRejected = $0.token != nil }
    }

    // MARK: - Code scripts

    enum Outcome { case succeed(String), fail(Int) }

    private func script(_ code: String, used: WritableKeyPath<State, Set<String>>) async throws -> Outcome {
        let parts = code.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        if parts.count == 3, parts[0] == "err", let errcode = Int(parts[1]) {
            return .fail(errcode)
        }
        if parts.count == 3, parts[0] == "slow", let milliseconds = Int(parts[1]) {
            try await Task.sleep(for: .milliseconds(min(milliseconds, 60_000)))
        }
        guard parts.count >= 2, !parts[0].isEmpty, code.utf8.count <= 256 else { return .fail(40029) }
        let firstUse = state.withLock { state in state[keyPath: used].insert(code).inserted }
        guard firstUse else { return .fail(40163) }
        return .succeed(parts[0] == "slow" ? parts[2] : parts[0])
    }

    /// Stable, app-scoped ids in WeChat's shape (28 characters starting with `o`).
    func identity(_ kind: String, _ name: String) -> String {
        let digest = SHA256.hash(data: Data("\(kind):\(appID):\(name)".utf8))
        let text = Data(digest).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        return "o" + text.prefix(27)
    }

    private func identityDigits(_ name: String) -> String {
        SHA256.hash(data: Data("phone:\(appID):\(name)".utf8)).map { String($0 % 10) }.joined()
    }

    // MARK: - Wire helpers

    static let messages: [Int: String] = [
        -1: "system error", 40001: "invalid credential, access_token is invalid or not latest",
        40002: "invalid grant_type", 40003: "invalid openid", 40013: "invalid appid", 40029: "invalid code",
        40037: "invalid template_id", 40097: "invalid args", 40125: "invalid appsecret",
        40066: "invalid url", 40163: "code been used", 40226: "code blocked", 42001: "access_token expired",
        43001: "require GET method", 43002: "require POST method", 43101: "user refuse to accept the msg",
        45009: "reach max api daily quota limit", 45011: "api minute-quota reach limit mustslower retry next minute",
        47003: "argument invalid!",
    ]

    /// WeChat's error answer; `errmsg` replaces the errcode's usual text where WeChat builds
    /// it per request (47003 names the field).
    static func error(_ errcode: Int, errmsg: String? = nil) -> Response {
        json(["errcode": errcode, "errmsg": (errmsg ?? messages[errcode] ?? "sandbox error") + ", rid: " + RandomID.base32(byteCount: 8)])
    }

    static func json(_ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func jsonObject(_ request: Request) async throws -> [String: Any] {
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        return (try? JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any]) ?? [:]
    }
}

