import ArgumentParser
import Foundation
import SwiftletConfig
import SwiftletSandbox

/// The sandbox's credentials, for configuring an SDK a team already uses against it.
struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "The built-in WeChat and WeChat Pay sandboxes (development only).",
        subcommands: [Credentials.self])

    struct Credentials: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "credentials",
            abstract: "Print the sandbox AppID, AppSecret, merchant id, serials, APIv3 key and key files for an SDK.")
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let config = try await options.load()
            guard config.profile != .production, config.wechat.sandbox else {
                FileHandle.standardError.write(Data(
                    "the sandboxes are off (production profile or wechat.sandbox=false): there are no sandbox credentials\n".utf8))
                throw ExitCode(1)
            }
            let secrets = config.dataDirectory + "/secrets"
            let credentials = try WeChatPaySandboxCredentials.loadOrCreate(directory: secrets, appID: config.wechat.appID)
            let files = try credentials.exportFiles(to: secrets + "/wechatpay-sandbox")
            let base = "http://\(config.http.host == "0.0.0.0" ? "127.0.0.1" : config.http.host):\(config.http.port)"
            let rows: [(String, String)] = [
                ("WeChat API base URL", base + "/sandbox/wechat"),
                ("AppID", config.wechat.appID),
                ("AppSecret", config.wechat.effectiveAppSecret ?? ""),
                ("WeChat Pay base URL", base + WeChatPaySandbox.pathPrefix),
                ("merchant id (mchid)", credentials.mchID),
                ("merchant key mode", Self.describe(config.wechatPay)),
                ("merchant certificate serial", credentials.merchantSerialNumber),
                ("merchant private key file", files.merchantPrivateKey),
                ("merchant certificate file", files.merchantCertificate),
                ("APIv3 key", credentials.apiV3Key),
                ("WeChat Pay public key id", credentials.publicKeyID),
                ("WeChat Pay public key file", files.platformPublicKey),
                ("platform certificate serial", credentials.platformCertificateSerialNumber),
                ("platform certificate file", files.platformCertificate),
            ]
            let width = rows.map(\.0.count).max() ?? 0
            for (name, value) in rows {
                print(name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value)
            }
        }

        /// Which key the SDK must verify with, and how to change it.
        static func describe(_ pay: SwiftletConfiguration.WeChatPay) -> String {
            let mode = switch pay.sandboxKeyMode {
            case .certificate: "certificate (verify with the platform certificate)"
            case .publicKey: "publicKey (verify with the WeChat Pay public key)"
            case .migrating: "migrating (both; notifies move to the public key over \(Int(pay.sandboxMigrationSeconds)) s)"
            }
            return mode + "; set wechatpay.sandboxKeyMode to change it"
        }
    }
}
