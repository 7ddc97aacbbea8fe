import Foundation
import JWTKit
import Logging
import Synchronization
import SwiftletConfig
import SwiftletCore
import SwiftletResilience
import SwiftletTokens
import SwiftletWeChat

/// Where the embedded sandbox listens, known once the server has bound its port.
final class SandboxAddress: Sendable {
    private let value = Mutex<String?>(nil)

    func set(host: String, port: Int) {
        let reachable = (host == "0.0.0.0" || host == "::") ? "127.0.0.1" : host
        value.withLock { $0 = "http://\(reachable):\(port)" }
    }

    var baseURL: String { value.withLock { $0 ?? "http://127.0.0.1:0" } }
}

/// Builds the identity services from configuration.
enum IdentityComposition {
    static func tokenCodec(_ config: SwiftletConfiguration) async throws -> JWTAccessTokenCodec {
        let auth = config.auth
        let retired = auth.jwtRetiredSecrets.map { AccessTokenKey.hs256(kid: $0.kid, secret: Array($0.secret.utf8)) }
        let signing: AccessTokenKey
        switch auth.jwtAlgorithm {
        case .hs256:
            let secret = try auth.jwtSecret.map { Array($0.utf8) } ?? DevelopmentSecrets.hs256Secret(dataDirectory: config.dataDirectory)
            signing = .hs256(kid: auth.jwtKeyID, secret: secret)
        case .es256:
            let pem: String
            if let file = auth.jwtPrivateKeyFile {
                pem = try String(contentsOfFile: file, encoding: .utf8)
            } else {
                pem = try DevelopmentSecrets.es256PrivateKeyPEM(dataDirectory: config.dataDirectory)
            }
            signing = .es256(kid: auth.jwtKeyID, privateKey: try ES256PrivateKey(pem: pem))
        }
        return try await JWTAccessTokenCodec(
            signing: signing, retired: retired, issuer: auth.issuer, audience: auth.audience,
            leeway: TimeInterval(auth.clockLeewaySeconds))
    }

    /// The WeChat client, sharing its access_token with the other nodes through `cluster`,
    /// every call through `breaker`.
    static func wechatClient(
        _ config: SwiftletConfiguration, sandboxAddress: SandboxAddress, cluster: any ClusterState, clock: SwiftletClock, logger: Logger,
        breaker: DependencyBreaker, telemetry: TelemetryComposition
    ) -> WeChatClient {
        let wechat = config.wechat
        let baseURL: @Sendable () -> String
        if let configured = wechat.apiBaseURL {
            baseURL = { configured }
        } else if wechat.sandbox {
            baseURL = { sandboxAddress.baseURL + "/sandbox/wechat" }
        } else {
            baseURL = { WeChatConfiguration.productionBaseURL }
        }
        var configuration = WeChatConfiguration(
            appID: wechat.appID, appSecret: wechat.effectiveAppSecret ?? "", baseURL: baseURL,
            timeout: .milliseconds(Int64(wechat.timeoutSeconds * 1000)))
        configuration.telemetry = telemetry.outbound("wechat", errorLabel: "errcode")
        return WeChatClient(configuration: configuration,
            sharing: .cluster(cluster, clock: clock, logger: logger), breaker: breaker)
    }
}
