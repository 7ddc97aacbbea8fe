import SwiftletOutboundTelemetry

/// What the client needs to act as one direct merchant for one mini-program.
///
/// Two ways to verify WeChat Pay's answers and notifies can be configured at once (WeChat
/// migrates merchants from platform certificates to the public key gradually, and callbacks
/// switch over during about a week):
/// - public-key mode: `publicKeyID` ("PUB_KEY_ID_…") and `publicKeyPEM` together;
/// - certificate mode: `platformCertificatePEMs`, refreshed from `/v3/certificates` when an
///   unknown serial shows up. It is on whenever certificates are given or no public key is.
public struct WeChatPayConfiguration: Sendable {
    public var appID: String
    public var mchID: String
    /// Serial of the merchant API certificate (uppercase hex); sent as `serial_no`.
    public var merchantSerialNumber: String
    /// The merchant API private key (`apiclient_key.pem`), PKCS#8 or PKCS#1 PEM text.
    public var merchantPrivateKeyPEM: String
    /// The APIv3 key: exactly 32 ASCII bytes, the AES-256-GCM key of notifies and certificates.
    public var apiV3Key: String
    /// "PUB_KEY_ID_…" of the WeChat Pay public key (public-key mode).
    public var publicKeyID: String?
    /// The WeChat Pay public key (SPKI PEM) matching `publicKeyID`.
    public var publicKeyPEM: String?
    /// Platform certificates already held (certificate mode); may be empty.
    public var platformCertificatePEMs: [String]
    /// Where the API lives: `https://api.mch.weixin.qq.com` for real, the sandbox otherwise.
    /// A closure because the embedded sandbox knows its port only after binding.
    public var baseURL: @Sendable () -> String
    /// Upper bound for one call, connection included.
    public var timeout: Duration
    /// Least time between two certificate refreshes triggered by an unknown serial, so a
    /// flood of forged notifies with made-up serials cannot make us hammer `/v3/certificates`.
    public var certificateRefreshMinimumInterval: Duration = .seconds(10)
    /// Call metrics, spans and `traceparent` (off unless the application turns them on).
    public var telemetry: OutboundCallTelemetry = .off("wechatpay")

    public static let productionBaseURL = "https://api.mch.weixin.qq.com"

    public init(
        appID: String, mchID: String, merchantSerialNumber: String, merchantPrivateKeyPEM: String,
        apiV3Key: String, publicKeyID: String? = nil, publicKeyPEM: String? = nil,
        platformCertificatePEMs: [String] = [],
        baseURL: @escaping @Sendable () -> String = { WeChatPayConfiguration.productionBaseURL },
        timeout: Duration = .seconds(10)
    ) throws {
        self.appID = appID
        self.mchID = mchID
        self.merchantSerialNumber = merchantSerialNumber
        self.merchantPrivateKeyPEM = merchantPrivateKeyPEM
        self.apiV3Key = apiV3Key
        self.publicKeyID = publicKeyID
        self.publicKeyPEM = publicKeyPEM
        self.platformCertificatePEMs = platformCertificatePEMs
        self.baseURL = baseURL
        self.timeout = timeout
        try validate()
    }

    /// True when platform certificates verify (some) answers, so an unknown serial is
    /// worth one refresh from `/v3/certificates`.
    public var usesPlatformCertificates: Bool {
        publicKeyID == nil || !platformCertificatePEMs.isEmpty
    }

    /// Checks what can be checked without parsing keys (the client parses them).
    /// Properties are mutable, so the client calls this again.
    func validate() throws {
        let required = [("appID", appID), ("mchID", mchID), ("merchantSerialNumber", merchantSerialNumber)]
        for (name, value) in required where value.isEmpty {
            throw WeChatPayError.invalidConfiguration("\(name) is empty")
        }
        guard apiV3Key.utf8.count == 32, apiV3Key.utf8.allSatisfy({ $0 >= 0x21 && $0 < 0x7F }) else {
            throw WeChatPayError.invalidConfiguration("apiV3Key must be exactly 32 printable ASCII characters")
        }
        switch (publicKeyID, publicKeyPEM) {
        case (nil, nil):
            break
        case (let id?, _?) where !id.isEmpty:
            break
        default:
            throw WeChatPayError.invalidConfiguration("publicKeyID and publicKeyPEM must be set together")
        }
        guard timeout > .zero else {
            throw WeChatPayError.invalidConfiguration("timeout must be positive")
        }
    }
}

extension WeChatPayConfiguration: CustomStringConvertible, CustomReflectable {
    /// Names the merchant but never prints the private key or the APIv3 key, so logging a
    /// configuration (or an object holding one) cannot leak them.
    public var description: String {
        "WeChatPayConfiguration(appID: \(appID), mchID: \(mchID), merchantSerialNumber: \(merchantSerialNumber), "
            + "publicKeyID: \(publicKeyID ?? "nil"), platformCertificates: \(platformCertificatePEMs.count), secrets: redacted)"
    }

    public var customMirror: Mirror {
        Mirror(self, children: ["description": description])
    }
}
