import SwiftletOutboundTelemetry

/// What the client needs to talk to WeChat for one mini-program.
public struct WeChatConfiguration: Sendable {
    public var appID: String
    public var appSecret: String
    /// Where the API lives: `https://api.weixin.qq.com` for real, the sandbox otherwise.
    /// A closure because the embedded sandbox's address is known only once the server
    /// has bound its port.
    public var baseURL: @Sendable () -> String
    /// Upper bound for one call, connection included.
    public var timeout: Duration
    /// Refresh the access_token this long before WeChat says it expires.
    public var tokenRefreshMargin: Duration
    /// Call metrics, spans and `traceparent` (off unless the application turns them on).
    public var telemetry: OutboundCallTelemetry = .off("wechat")

    public init(
        appID: String, appSecret: String, baseURL: @escaping @Sendable () -> String,
        timeout: Duration = .seconds(5), tokenRefreshMargin: Duration = .seconds(300)
    ) {
        self.appID = appID
        self.appSecret = appSecret
        self.baseURL = baseURL
        self.timeout = timeout
        self.tokenRefreshMargin = tokenRefreshMargin
    }

    public static let productionBaseURL = "https://api.weixin.qq.com"
}
